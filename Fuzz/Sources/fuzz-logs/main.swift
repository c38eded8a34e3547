import FuzzSupport

fuzz { fuzzLogs($0, $1) }
