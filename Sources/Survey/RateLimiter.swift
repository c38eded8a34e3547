import NIOConcurrencyHelpers

/// Spaces requests evenly at `perSecond` across all tasks: each caller reserves the next free slot
/// under a lock and sleeps until it comes.
final class RateLimiter: Sendable {
    private let interval: Duration?
    private let next = NIOLockedValueBox<ContinuousClock.Instant>(.now)

    init(perSecond: Double) {
        interval = perSecond > 0 ? .nanoseconds(Int64(1e9 / perSecond)) : nil
    }

    func acquire() async {
        guard let interval else { return }
        let slot = next.withLockedValue { next -> ContinuousClock.Instant in
            let now = ContinuousClock.now
            let slot = max(next, now)
            next = slot + interval
            return slot
        }
        if slot > .now { try? await Task.sleep(until: slot) }
    }
}
