/// What the storage can hold in each field beyond what validation already accepts: the limits
/// of an existing table's columns (`varchar(50)`, `numeric(12)`, `numeric(12,3)`, `NOT NULL`),
/// read once when the table is prepared. A value past one would make the database refuse the
/// whole write, so a write is checked against them first and refused with a 422 naming the field,
/// the limit and the column, and nothing stored. A store without such limits (JSONL, a table the
/// service created) has ``none``.
public struct FieldLimits: Sendable, Hashable {
    /// One column's limit on a field.
    public enum Limit: Sendable, Hashable {
        /// At most this many characters (`varchar(n)`, `char(n)`, which ignores trailing spaces).
        case characters(Int, ignoringTrailingSpaces: Bool)
        /// Only integers in this range (`smallint`, `integer`, `numeric(p)`).
        case integers(ClosedRange<Int64>)
        /// A decimal rounded to `scale` places with at most `precision` digits (`numeric(p, s)`).
        case decimal(precision: Int, scale: Int)
        /// A value is required: the field is optional, the column `NOT NULL`.
        case required
    }

    /// A limit and the column it comes from, for the message.
    public struct ColumnLimit: Sendable, Hashable {
        public var limit: Limit
        /// The column's name, as the table spells it.
        public var column: String
        /// The column's type as a person reads it (`varchar(50)`, `numeric(12,3)`).
        public var columnType: String

        public init(_ limit: Limit, column: String, columnType: String) {
            (self.limit, self.column, self.columnType) = (limit, column, columnType)
        }
    }

    /// The limits of each field that has any.
    public var limits: [PipelineField: [ColumnLimit]]

    public init(_ limits: [PipelineField: [ColumnLimit]] = [:]) {
        self.limits = limits.filter { !$0.value.isEmpty }
    }

    /// Whether the store can hold a run still running: false for a table without a `status`
    /// column, where such a record would read back as a finished run of 0 s. A run is then sent
    /// when it has finished (`report` and OpenLineage do so by themselves).
    public var keepsRunningRuns = true

    /// No limit beyond validation's.
    public static let none = FieldLimits()

    /// Whether there is no limit at all.
    public var isEmpty: Bool { limits.isEmpty && keepsRunningRuns }

    /// The kind of issue a run still running gets where ``keepsRunningRuns`` is false.
    public static let runningNotStored = "running_not_stored"

    /// What in `run` the storage cannot hold, field by field in ``PipelineField`` order, in the
    /// shape validation answers (`string_too_long`, `less_than_equal`, `missing`), each naming the
    /// column and its type. Empty when the run fits.
    public func issues(in run: PipelineInfo, location: FieldIssue.Location = .body) -> [FieldIssue] {
        guard !isEmpty else { return [] }
        var issues: [FieldIssue] = []
        if !keepsRunningRuns, run.isRunning {
            issues.append(
                FieldIssue(
                    location,
                    PipelineField.status.rawValue,
                    kind: Self.runningNotStored,
                    message: "This table has no status column, so it cannot hold a run still running: send the run when it has finished",
                    input: .string(RunStatus.running)
                )
            )
        }
        for field in PipelineField.allCases {
            guard let columnLimits = limits[field] else { continue }
            let value = run.value(of: field)
            for columnLimit in columnLimits {
                if let issue = Self.issue(value, field: field, columnLimit, location: location) {
                    issues.append(issue)
                    break
                }
            }
        }
        return issues
    }

    private static func issue(_ value: FieldValue, field: PipelineField, _ columnLimit: ColumnLimit, location: FieldIssue.Location) -> FieldIssue? {
        let column = "column \(columnLimit.column) is \(columnLimit.columnType)"
        func refusal(_ kind: String, _ message: String, _ input: JSONValue?) -> FieldIssue {
            FieldIssue(location, field.rawValue, kind: kind, message: "\(message) (\(column))", input: input)
        }
        switch (columnLimit.limit, value) {
        case (.characters(let limit, let ignoringTrailingSpaces), .text(let text?)):
            let scalars = text.unicodeScalars
            let trailingSpaces = ignoringTrailingSpaces ? scalars.reversed().prefix { $0 == " " }.count : 0
            guard scalars.count - trailingSpaces > limit else { return nil }
            return refusal("string_too_long", "String should have at most \(limit) characters", .string(text))
        case (.integers(let range), .integer(let integer?)):
            if integer < range.lowerBound {
                return refusal("greater_than_equal", "Input should be greater than or equal to \(range.lowerBound)", .number(String(integer)))
            }
            if integer > range.upperBound {
                return refusal("less_than_equal", "Input should be less than or equal to \(range.upperBound)", .number(String(integer)))
            }
            return nil
        case (.decimal(let precision, let scale), .double(let number)):
            guard let decimal = DecimalText(number), !decimal.rounded(toScale: scale).fits(integerDigits: precision - scale) else { return nil }
            let largest = DecimalText.largest(precision: precision, scale: scale)
            return refusal(
                decimal.isNegative ? "greater_than_equal" : "less_than_equal",
                decimal.isNegative ? "Input should be greater than or equal to -\(largest)" : "Input should be less than or equal to \(largest)",
                .number(number.description)
            )
        case (.required, .text(nil)), (.required, .integer(nil)):
            return refusal("missing", "Field required", nil)
        default:
            return nil
        }
    }
}
