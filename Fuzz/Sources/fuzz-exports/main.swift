import FuzzSupport

fuzz { fuzzExports($0, $1) }
