import PipelineCore

/// The signatures whose finished runs one transaction replaced (``KeyedWrite/replacesFinished(_:)``):
/// when the transaction's writes are stored, these signatures' totals are folded again from the
/// table (which then holds the new runs) instead of having the new runs added to them, since the
/// replaced run's share cannot be taken out of a sum exactly.
final class ReplacedSignatures {
    private var seen: Set<PipelineSignature> = []
    private(set) var signatures: [PipelineSignature] = []

    func insert(_ signature: PipelineSignature) {
        if seen.insert(signature).inserted { signatures.append(signature) }
    }

    func contains(_ signature: PipelineSignature) -> Bool { seen.contains(signature) }

    /// The runs to add to their totals: those of the signatures not folded again.
    func added(_ runs: [PipelineInfo]) -> [PipelineInfo] {
        seen.isEmpty ? runs : runs.filter { !seen.contains($0.signature) }
    }
}
