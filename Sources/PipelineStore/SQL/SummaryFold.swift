import PipelineCore

/// The arithmetic of a summary table, done in Swift and shared by both SQL backends. A backend
/// runs the statements of ``SQLSummaryTable`` in the order these steps say, in the transaction
/// that stores or deletes the runs.
///
/// Signatures are told apart by the bytes of their keys (``ExactText``), as the table's primary
/// key compares them, and handled in the byte order of their keys, as PostgreSQL locks them.
enum SummaryFold {
    /// Adding newly stored runs:
    /// 1. `placeholders` — a row of zero totals for every signature the runs touch (created only
    ///    where missing), whose last run is the earliest start among the runs, which adding them
    ///    then moves to the latest;
    /// 2. the stored totals of `keys`, read (and on PostgreSQL locked) in key order;
    /// 3. `adding(_:to:)` — the runs added one at a time in their order, written back.
    struct Addition {
        let runs: [PipelineInfo]
        private let runKeys: [ExactText]
        /// The touched signatures' keys in byte order.
        let keys: [ExactText]
        /// Zero totals per touched signature, in the order of `keys`.
        let placeholders: [SignatureAggregate]

        init(_ runs: [PipelineInfo]) {
            self.runs = runs
            runKeys = runs.map { ExactText(SQLSummaryTable.key($0.signature)) }
            var placeholders: [ExactText: SignatureAggregate] = [:]
            for (run, key) in zip(runs, runKeys) {
                if let placeholder = placeholders[key] {
                    placeholders[key]?.lastRun = min(placeholder.lastRun, run.startUTC)
                } else {
                    var placeholder = SignatureAggregate(empty: run.signature)
                    placeholder.lastRun = run.startUTC
                    placeholders[key] = placeholder
                }
            }
            keys = placeholders.keys.sorted()
            self.placeholders = keys.compactMap { placeholders[$0] }
        }

        /// The keys as text, in chunks of at most ``SQLSummaryTable/signaturesPerStatement``.
        var keyChunks: [[String]] {
            Self.chunks(keys.map(\.string))
        }

        var placeholderChunks: [[SignatureAggregate]] { Self.chunks(placeholders) }

        /// The new totals: `stored` (every touched signature's row, as read) with the runs added in
        /// their order, in chunks for writing.
        func adding(to stored: [SignatureAggregate]) -> [[SignatureAggregate]] {
            var totals: [ExactText: SignatureAggregate] = [:]
            for aggregate in stored { totals[ExactText(SQLSummaryTable.key(aggregate.signature))] = aggregate }
            for (run, key) in zip(runs, runKeys) { totals[key]?.add(run) }
            return Self.chunks(keys.compactMap { totals[$0] })
        }

        static func chunks<Element>(_ elements: [Element]) -> [[Element]] {
            stride(from: 0, to: elements.count, by: SQLSummaryTable.signaturesPerStatement).map { start in
                Array(elements[start..<min(start + SQLSummaryTable.signaturesPerStatement, elements.count)])
            }
        }
    }

    /// Deleting runs: the touched signatures' totals are folded again from their remaining runs
    /// in insertion order (``SQLStatements/summaryInputs(of:)``, read in chunks of `chunks`), as
    /// inserts built them; signatures left without runs lose their row.
    struct Refold {
        /// The touched signatures, one per distinct key, in chunks for reading their remaining runs.
        let chunks: [[PipelineSignature]]
        private let touched: [(key: ExactText, signature: PipelineSignature)]
        private var totals: [ExactText: SignatureAggregate] = [:]

        init(deleted signatures: some Sequence<PipelineSignature>) {
            var distinct: [ExactText: PipelineSignature] = [:]
            for signature in signatures { distinct[ExactText(SQLSummaryTable.key(signature))] = signature }
            touched = distinct.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            chunks = Addition.chunks(touched.map(\.signature))
        }

        /// Folds in one remaining run, read from a row of `summaryInputs` (its signature, then a sample).
        mutating func add(_ signature: PipelineSignature, _ sample: RunSample) {
            totals[ExactText(SQLSummaryTable.key(signature)), default: SignatureAggregate(empty: signature)].add(sample)
        }

        /// The rows to write (chunked) and the signatures whose rows go.
        var result: (totals: [[SignatureAggregate]], emptied: [PipelineSignature]) {
            (Addition.chunks(touched.compactMap { totals[$0.key] }), touched.filter { totals[$0.key] == nil }.map(\.signature))
        }
    }
}
