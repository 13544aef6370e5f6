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
    /// Starts a table without a status column could not store, until their ends arrive.
    let starts = LineageStarts()

    /// The most events one request may carry (a JSON array); each is a write.
    static var maximumEvents: Int { 1000 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.post("/api/v1/lineage", use: receive)
    }

    /// Validates every event first (one 422 lists each bad member by its path, and nothing is
    /// stored), then stores what they do all at once: an array is stored whole or not at all.
    /// 201 with one line per event saying what it did.
    @Sendable func receive(_ request: Request, context: Context) async throws -> Response {
        let body = try await RequestBody.json(from: request, limit: maxBodySize)
        let json: JSONValue
        do {
            json = try JSONParser.parse(body.readableBytesView)
        } catch {
            throw APIError.validation(ValidationError(FieldIssue(.body, "", kind: "json_invalid", message: "JSON decode error: \(error)")))
        }
        let events = try Self.events(in: json)
        let runEvents = events.compactMap { event -> LineageRunEvent? in
            if case .run(let runEvent) = event { return runEvent }
            return nil
        }
        let isArray = if case .array = json { true } else { false }
        let outcomes = try await store(runEvents, isArray: isArray, logger: context.logger)
        var results: [(LineageEvent, String)] = []
        var runOutcomes = outcomes.makeIterator()
        for event in events {
            let outcome = if case .run = event { runOutcomes.next() ?? "ignored" } else { "not_stored" }
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

    /// How often a request's events are merged again when another write of one of their runs
    /// came between reading it and storing them.
    static var mergeAttempts: Int { 8 }

    /// Stores what the run events do, all or none, and returns each event's outcome. The runs
    /// they name are read, the events applied to them in order (``LineageMapping/plan(_:stored:isArray:)``),
    /// and the results stored only over the runs that were read: when another write of one of them
    /// came between (a START and its COMPLETE sent at once), everything is read and merged again.
    private func store(_ events: [LineageRunEvent], isArray: Bool, logger: Logger) async throws -> [String] {
        guard !events.isEmpty else { return [] }
        // A table without a status column holds finished runs only: a START is kept here until
        // its end, which is then stored with it.
        let keepsRunningRuns = try repository.fieldLimits().keepsRunningRuns
        let ids = Set(events.map(\.runID))
        var attempt = 0
        while true {
            attempt += 1
            var stored: [String: PipelineInfo] = [:]
            for id in ids {
                if let run = try await storedRun(id) { stored[id] = run }
            }
            var plan: LineagePlan
            do {
                let known = keepsRunningRuns ? stored : starts.runs(ids.filter { stored[$0] == nil }).merging(stored) { _, real in real }
                plan = try mapping.plan(events, stored: known, isArray: isArray)
            } catch {
                throw APIError.validation(error)
            }
            let running = keepsRunningRuns ? [:] : plan.runningAtEnd
            if !keepsRunningRuns { plan = plan.finishedOnly(stored: stored) }
            let outcomes: [InsertOutcome]
            do {
                outcomes = try await repository.insert(merged: plan.writes.map { MergedRun($0.run, basis: $0.basis) })
            } catch let error as StorageError where error.isChangedSinceRead && attempt < Self.mergeAttempts {
                continue
            } catch let error as ValidationError {
                // Past the table's limits: named in the terms of the events sent.
                throw APIError.validation(plan.eventIssues(error, isArray: isArray))
            }
            for outcome in outcomes { WriteAudit.record(outcome, logger: logger) }
            if !keepsRunningRuns { starts.update(running: running, ended: ids.filter { running[$0] == nil }) }
            for event in events where event.eventType == .fail {
                if let message = event.errorMessage {
                    logger.notice("lineage run failed", metadata: ["run_id": "\(event.runID)", "error": "\(message.prefix(2000))"])
                }
            }
            return zip(events, plan.changes).map { event, change in
                guard let change, outcomes.indices.contains(change) else {
                    // A start kept in memory, not stored: the table holds finished runs only.
                    return !keepsRunningRuns && running[event.runID] != nil && event.endStatus == nil ? "not_stored" : "ignored"
                }
                return outcomes[change].label
            }
        }
    }

    /// Read where writes go: a replica that lags would miss the START this event completes.
    private func storedRun(_ id: String) async throws -> PipelineInfo? {
        try await repository.latestRun(withID: id)?.info
    }
}
