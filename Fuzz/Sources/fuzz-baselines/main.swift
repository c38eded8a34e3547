import FuzzSupport

fuzz { fuzzBaselines($0, $1) }
