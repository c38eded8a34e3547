import FuzzSupport

fuzz { fuzzKAPE($0, $1) }
