# Sourced by the benchmark scripts: ripgrep (the peer) and release builds of exhunt and the
# generator of benchmark logs.
command -v rg >/dev/null || { apt-get update -qq && apt-get install -y -qq ripgrep; }
swift build -c release --product exhunt >/dev/null
swift build -c release --product exhunt-samplegen >/dev/null
