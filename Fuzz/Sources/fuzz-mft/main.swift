import FuzzSupport

fuzz { fuzzMFT($0, $1) }
