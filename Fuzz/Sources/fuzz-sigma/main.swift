import FuzzSupport

fuzz { fuzzSigma($0, $1) }
