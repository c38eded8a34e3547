import ExchangeBuilds
import NIOConcurrencyHelpers

/// A fleet repeats a few dozen builds thousands of times: assess each once.
final class AssessmentCache: Sendable {
    private let knowledge: BuildKnowledge
    private let exactCache = NIOLockedValueBox<[ExchangeBuild: BuildAssessment]>([:])
    private let cuCache = NIOLockedValueBox<[CULevel: BuildAssessment]>([:])
    /// Hostile servers can invent any number of builds; past this many, stop remembering.
    private let limit = 10_000

    init(_ knowledge: BuildKnowledge) { self.knowledge = knowledge }

    func exact(_ b: ExchangeBuild) -> BuildAssessment {
        if let a = exactCache.withLockedValue({ $0[b] }) { return a }
        let a = knowledge.assess(b)
        exactCache.withLockedValue { if $0.count < limit { $0[b] = a } }
        return a
    }

    func cu(_ l: CULevel) -> BuildAssessment {
        if let a = cuCache.withLockedValue({ $0[l] }) { return a }
        let a = knowledge.assess(l)
        cuCache.withLockedValue { if $0.count < limit { $0[l] = a } }
        return a
    }
}
