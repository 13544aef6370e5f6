import GRDB
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineStore

/// How the SQL backends reach their answers: which index a query can use, and when a page walks
/// result order instead of seeking the row count index. The answers themselves are checked against
/// the oracle in the contract suite; these tests keep the plans from regressing silently.
@Suite("Query plans")
struct QueryPlanTests {
    static let statements = SQLStatements(layout: .standard, dialect: .sqlite)

    @Test("A wide row count range walks result order; a narrow one, a deep page or every match seeks the range")
    func walkingIsChosenByTheShareOfMatches() {
        let range = RunFilter(minRowcount: 4000, maxRowcount: 6000)
        let first = RunQuery(filter: range, paging: .window(limit: 100, offset: 0))
        // A tenth of a million runs: the walk finds 100 of them within about a thousand entries.
        #expect(SQLStatements.prefersWalkingResultOrder(for: first, matches: 100_000, tableSize: 1_000_000))
        // 70 matches: the walk would read the whole table.
        #expect(!SQLStatements.prefersWalkingResultOrder(for: first, matches: 70, tableSize: 1_000_000))
        #expect(!SQLStatements.prefersWalkingResultOrder(for: first, matches: 0, tableSize: 1_000_000))
        // Deep in a narrow range, sorting the range is cheaper than walking to it.
        let deep = RunQuery(filter: range, paging: .window(limit: 100, offset: 50_000))
        #expect(!SQLStatements.prefersWalkingResultOrder(for: deep, matches: 60_000, tableSize: 10_000_000))
        #expect(!SQLStatements.prefersWalkingResultOrder(for: RunQuery(filter: range, paging: .all), matches: 500_000, tableSize: 1_000_000))
        #expect(!SQLStatements.prefersWalkingResultOrder(for: RunQuery(paging: .window(limit: 100, offset: 0)), matches: 1, tableSize: 1))
        #expect(
            SQLStatements.prefersWalkingResultOrder(
                for: RunQuery(filter: range, paging: .window(limit: .max, offset: .max)),
                matches: 1,
                tableSize: 1
            ) == false
        )
    }

    @Test("A walking page writes the row count bounds so that no index seeks them; the binds do not change")
    func walkingPageDisablesTheRowcountSeek() {
        let query = RunQuery(filter: RunFilter(minRowcount: 1, maxRowcount: 9, pipelineName: "p"), paging: .window(limit: 10, offset: 0))
        let seeking = Self.statements.page(query)
        let walking = Self.statements.page(query, walkingResultOrder: true)
        #expect(seeking.sql.contains("\"rowcount\" >= ?") && !seeking.sql.contains("+\"rowcount\""))
        #expect(walking.sql.contains("+\"rowcount\" >= ?") && walking.sql.contains("+\"rowcount\" <= ?"))
        #expect(walking.binds == seeking.binds)
    }

    @Test("SQLite: pipeline counts and history read only the covering index; a walking page uses the start index")
    func sqlitePlansUseTheCoveringIndexes() async throws {
        try await withFixture(.sqlite) { fixture in
            var generator = RandomRuns(seed: 11)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(300))
            try await fixture.repository.refreshStatistics()
            func plan(_ statement: SQLStatement) throws -> String {
                var configuration = Configuration()
                configuration.readonly = true
                let queue = try DatabaseQueue(path: fixture.location, configuration: configuration)
                defer { try? queue.close() }
                return try queue.read { db in
                    try Row.fetchAll(
                        db,
                        sql: "EXPLAIN QUERY PLAN " + statement.sql,
                        arguments: StatementArguments(statement.binds.map(\.databaseValue))
                    )
                    .map { $0["detail"] as String }.joined(separator: "; ")
                }
            }
            let combined = RunFilter(
                startUTCFrom: UTCInstant(microsecondsSinceEpoch: 0),
                endUTCTo: UTCInstant(microsecondsSinceEpoch: 4_000_000_000_000_000),
                minRowcount: 1,
                maxRowcount: 1_000_000,
                pipelineName: "ingest_lots",
                scriptName: "x.py",
                pipelineType: "batch",
                environment: "prod"
            )
            #expect(try plan(Self.statements.count(combined)).contains("COVERING INDEX pipeline_runs_by_name"))
            #expect(try plan(Self.statements.historySamples(matching: combined)).contains("COVERING INDEX pipeline_runs_by_name"))
            let window = RunFilter(startUTCFrom: UTCInstant(microsecondsSinceEpoch: 0), endUTCTo: UTCInstant(microsecondsSinceEpoch: 1))
            #expect(try plan(Self.statements.count(window)).contains("COVERING INDEX pipeline_runs_by_start"))
            let range = RunQuery(filter: RunFilter(minRowcount: 10, maxRowcount: 20), paging: .window(limit: 100, offset: 0))
            let walking = try plan(Self.statements.page(range, walkingResultOrder: true))
            #expect(walking.contains("pipeline_runs_by_start") && !walking.contains("TEMP B-TREE"), "\(walking)")
        }
    }
}
