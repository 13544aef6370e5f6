import GRDB
import Logging

/// What the repository asked of the database when it failed.
enum SQLiteAccess: String, CustomStringConvertible {
    case read
    case write
    case healthCheck = "health check"

    var description: String { rawValue }
}

extension StorageError {
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
