import FuzzSupport

fuzz { fuzzHTTP($0, $1) }
