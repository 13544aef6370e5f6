import GRDB
import Logging
import PipelineCore

/// What the repository asked of the database when it failed.
enum SQLiteAccess: String, CustomStringConvertible {
    case read
    case write
    case healthCheck = "health check"

    var description: String { rawValue }
}

extension StorageError {
    /// A rule of an existing table that refused a write of `runs` (SQLite's constraint errors), as
    /// the client's to fix: a unique key of the table held by another run is a conflict naming its
    /// columns (409), a NOT NULL or CHECK constraint a refusal naming the column (422). Nil for any
    /// other failure.
    static func tableRule(_ error: any Error, writing runs: [PipelineInfo]) -> StorageError? {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_CONSTRAINT else { return nil }
        // SQLite names the columns: "UNIQUE constraint failed: t.a, t.b", "NOT NULL constraint failed: t.a",
        // "CHECK constraint failed: name".
        let message = error.message ?? ""
        let named = message.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let columns = named.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).split(separator: ".").last.map(String.init) ?? "" }
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            let run = runs.first
            let key = run?.runKey ?? RunKey(pipelineName: run?.pipelineName, dateCode: run?.dateCode ?? "", runID: nil)
            return .keyTaken(key, columns: columns, constraint: "UNIQUE (\(columns.joined(separator: ", ")))")
        case .SQLITE_CONSTRAINT_NOTNULL:
            return .refused(
                FieldIssue(.body, "", kind: "table_constraint", message: "column \(columns.joined(separator: ", ")) of the table is NOT NULL")
            )
        default:
            return .refused(
                FieldIssue(
                    .body,
                    "",
                    kind: "table_constraint",
                    message: "a rule of the table does not hold for it (\(named.trimmingCharacters(in: .whitespaces).prefix(200)))"
                )
            )
        }
    }

    /// The error a caller sees when the database fails: a ``StorageError`` whose message names
    /// no SQL and no path. The real error goes to the log.
    static func fromSQLite(_ error: any Error, during access: SQLiteAccess, logger: Logger) -> any Error {
        if error is CancellationError { return error }
        if let error = error as? StorageError {
            if error.conflictingKey == nil { logger.error("SQLite \(access) failed", metadata: ["error": "\(error)"]) }
            return error
        }
        logger.error("SQLite \(access) failed", metadata: ["error": "\(error)"])
        guard let error = error as? DatabaseError else { return StorageError.unavailable("the database failed") }
        switch error.resultCode {
        case .SQLITE_FULL:
            return StorageError.storageFull
        case .SQLITE_READONLY,
            .SQLITE_CANTOPEN where access == .write:
            return StorageError.readOnly
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StorageError.unavailable("the database is busy")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StorageError.corrupt("the database file is damaged")
        case .SQLITE_IOERR:
            return StorageError.unavailable("the database file could not be read or written")
        case .SQLITE_MISUSE:
            return StorageError.unavailable("the database is closed")
        default:
            return StorageError.unavailable("the database failed")
        }
    }
}
