import FuzzSupport

fuzz { fuzzUSN($0, $1) }
