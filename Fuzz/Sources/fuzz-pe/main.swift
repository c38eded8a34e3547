import FuzzSupport

fuzz { fuzzPE($0, $1) }
