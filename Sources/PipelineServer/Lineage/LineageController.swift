import Hummingbird
import Logging
import NIOCore
import PipelineCore
import PipelineStore

/// `POST /api/v1/lineage`: OpenLineage events from any emitter (the `openlineage-python`
/// client's HTTP transport, Airflow, Spark, dbt…), at the path and in the form Marquez takes
/// them. Run events become runs by ``LineageMapping``; job and dataset events are accepted and
/// counted, not stored.
struct LineageController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    let maxBodySize: Int
    let mapping: LineageMapping
    let metrics: ServiceMetrics

    /// The most events one request may carry (a JSON array); each is a write.
    static var maximumEvents: Int { 1000 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.post("/api/v1/lineage", use: receive)
    }

    /// Validates every event first (one 422 lists each bad member by its path, and nothing is
    /// stored), then applies them in order. 201 with one line per event saying what it did.
    @Sendable func receive(_ request: Request, context: Context) async throws -> Response {
        let body = try await RequestBody.json(from: request, limit: maxBodySize)
        let json: JSONValue
        do {
            json = try JSONParser.parse(body.readableBytesView)
        } catch {
            throw APIError.validation(ValidationError(FieldIssue(.body, "", kind: "json_invalid", message: "JSON decode error: \(error)")))
        }
        let events = try Self.events(in: json)
        var results: [(LineageEvent, String)] = []
        for event in events {
            guard case .run(let runEvent) = event else {
                results.append((event, "not_stored"))
                metrics.recordLineageEvent(kind: event.kind, outcome: "not_stored")
                continue
            }
            let outcome = try await apply(runEvent, logger: context.logger)
            metrics.recordLineageEvent(kind: event.kind, outcome: outcome)
            results.append((event, outcome))
        }
        var writer = JSONWriter()
        writer.object { writer in
            writer.key("events")
            writer.array(results) { writer, result in
                writer.object { writer in
                    writer.key("kind")
                    writer.string(result.0.kind)
                    writer.key("run_id")
                    if case .run(let event) = result.0 { writer.string(event.runID) } else { writer.null() }
                    writer.key("outcome")
                    writer.string(result.1)
                }
            }
        }
        return .json(writer.bytes, status: .created)
    }

    /// The events of a body: one object, or an array of them (at most ``maximumEvents``).
    static func events(in json: JSONValue) throws(ValidationError) -> [LineageEvent] {
        guard case .array(let elements) = json else { return [try LineageEvent(json: json)] }
        guard elements.count <= maximumEvents else {
            throw ValidationError(
                FieldIssue(.body, "", kind: "too_long", message: "An array may hold at most \(maximumEvents) events; send them in several requests")
            )
        }
        var events: [LineageEvent] = []
        var issues: [FieldIssue] = []
        for (index, element) in elements.enumerated() {
            do {
                events.append(try LineageEvent(json: element, prefix: [.index(index)]))
            } catch {
                issues += error.issues
            }
        }
        guard issues.isEmpty else { throw ValidationError(Array(issues.prefix(100))) }
        return events
    }

    /// Applies one run event: reads the run it names, maps the event onto it, and stores the
    /// result. A write that loses a race with another writer of the same run (the stored run
    /// changed since it was read) is decided again on what is stored now.
    private func apply(_ event: LineageRunEvent, logger: Logger) async throws -> String {
        var attempts = 0
        while true {
            let stored = try await storedRun(event.runID)
            guard let run = mapping.run(after: event, stored: stored) else { return "ignored" }
            // The same bound a posted run has: an end centuries after its start is a clock gone wrong.
            guard run.elapsedSeconds <= PipelineInfo.maximumElapsedSeconds else {
                throw APIError.validation(
                    ValidationError(
                        FieldIssue(
                            .body,
                            "eventTime",
                            kind: "less_than_equal",
                            message: "The run would last longer than \(Int64(PipelineInfo.maximumElapsedSeconds)) seconds"
                        )
                    )
                )
            }
            do {
                let outcome = try await repository.insert(run)
                WriteAudit.record(outcome, logger: logger)
                if let message = event.errorMessage, event.eventType == .fail {
                    logger.notice("lineage run failed", metadata: ["run_id": "\(event.runID)", "error": "\(message.prefix(2000))"])
                }
                return outcome.label
            } catch let error as StorageError where error.conflictingKey != nil {
                attempts += 1
                guard attempts < 3, try await storedRun(event.runID) != stored else { throw error }
            }
        }
    }

    /// Read where writes go: a replica that lags would miss the START this event completes.
    private func storedRun(_ id: String) async throws -> PipelineInfo? {
        try await repository.latestRun(withID: id)?.info
    }
}
