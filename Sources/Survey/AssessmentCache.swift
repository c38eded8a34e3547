import ExchangeBuilds
import NIOConcurrencyHelpers

/// A fleet repeats a few dozen builds thousands of times: assess each once.
final class AssessmentCache: Sendable {
    let knowledge: BuildKnowledge
    private let exactCache = NIOLockedValueBox<[ExchangeBuild: BuildAssessment]>([:])
    private let cuCache = NIOLockedValueBox<[CULevel: BuildAssessment]>([:])
    /// Hostile servers can invent any number of builds; past this many, stop remembering.
    private let limit = 10_000

    init(_ knowledge: BuildKnowledge) { self.knowledge = knowledge }

    func exact(_ b: ExchangeBuild) -> BuildAssessment { memo(exactCache, b) { knowledge.assess(b) } }

    func cu(_ l: CULevel) -> BuildAssessment { memo(cuCache, l) { knowledge.assess(l) } }

    private func memo<Key: Hashable>(_ cache: NIOLockedValueBox<[Key: BuildAssessment]>, _ key: Key,
                                     _ make: () -> BuildAssessment) -> BuildAssessment {
        if let a = cache.withLockedValue({ $0[key] }) { return a }
        let a = make()
        cache.withLockedValue { if $0.count < limit { $0[key] = a } }
        return a
    }
}
