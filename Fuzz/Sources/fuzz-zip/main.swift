import FuzzSupport

fuzz { fuzzZip($0, $1) }
