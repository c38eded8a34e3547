import FuzzSupport

fuzz { fuzzEVTX($0, $1) }
