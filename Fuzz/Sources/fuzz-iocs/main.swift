import FuzzSupport

fuzz { fuzzIndicators($0, $1) }
