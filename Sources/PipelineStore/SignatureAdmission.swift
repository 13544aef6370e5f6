import PipelineCore
import Synchronization

/// Decides, write by write, which writes of a group commit may add new pipeline signatures, so
/// that at most ``RepositoryLimits/maximumSignatures`` distinct signatures are stored.
///
/// A write is admitted whole or refused whole (a batch is all or none): it is refused when the
/// signatures it would add, on top of those already stored and those admitted earlier in the
/// group, exceed the limit. Runs of known signatures are always admitted.
struct SignatureAdmission {
    let limit: Int
    private let isKnown: (PipelineSignature) -> Bool
    private var count: Int
    private var admitted: Set<PipelineSignature> = []

    /// - Parameters:
    ///   - knownCount: how many signatures are stored.
    ///   - isKnown: whether a signature is stored.
    init(limit: Int, knownCount: Int, isKnown: @escaping (PipelineSignature) -> Bool) {
        self.limit = limit
        self.count = knownCount
        self.isKnown = isKnown
    }

    /// Admits the write's new signatures, or throws without admitting any.
    mutating func admit(_ runs: [PipelineInfo]) throws(StorageError) {
        var new: Set<PipelineSignature> = []
        for run in runs {
            let signature = run.signature
            if !admitted.contains(signature), !isKnown(signature) { new.insert(signature) }
        }
        guard !new.isEmpty else { return }
        guard count + new.count <= limit else { throw StorageError.tooManySignatures(limit: limit) }
        count += new.count
        admitted.formUnion(new)
    }

    /// The signatures admitted so far that were not stored before.
    var newSignatures: Set<PipelineSignature> { admitted }
}

/// The signatures a SQL repository has stored, kept in memory so that each write can be admitted
/// without a query: read from the database by the first write, extended after each commit, and
/// read again before a write is refused (another process sharing the table may have added or
/// removed signatures meanwhile) and after a prune.
final class KnownSignatures: Sendable {
    /// Nil until first read.
    private let signatures = Mutex<Set<PipelineSignature>?>(nil)

    /// Whether the signatures were read from the database yet.
    var isLoaded: Bool { signatures.withLock { $0 != nil } }

    func replace(with signatures: some Sequence<PipelineSignature>) {
        let set = Set(signatures)
        self.signatures.withLock { $0 = set }
    }

    func insert(_ new: Set<PipelineSignature>) {
        guard !new.isEmpty else { return }
        signatures.withLock { $0?.formUnion(new) }
    }

    /// An admission over the signatures known now.
    func admission(limit: Int) -> SignatureAdmission {
        let known = signatures.withLock { $0 } ?? []
        return SignatureAdmission(limit: limit, knownCount: known.count) { known.contains($0) }
    }

    /// Admits each request in order; the refusal of each request that does not fit, nil for
    /// the others. A caller that meets a refusal reads the signatures from storage again
    /// (``replace(with:)``) and asks once more before refusing.
    func admit(_ requests: [WriteRequest], limit: Int) -> [StorageError?] {
        var admission = admission(limit: limit)
        return requests.map { request -> StorageError? in
            do throws(StorageError) {
                try admission.admit(request.runs)
                return nil
            } catch {
                return error
            }
        }
    }
}
