import PipelineCore

/// The type of a column of an existing table, as far as storing a field in it exactly depends on
/// it: read once when the table is adopted (``SQLTableLayout/resolved(against:setting:problem:)``),
/// it decides how a field is read (``SQLTableLayout/selectExpression(_:)``), what a run becomes
/// when stored (``SQLTableLayout/storable(_:)``), how its value is bound, and the table's
/// ``FieldLimits``.
enum SQLColumnType: Sendable, Hashable, CustomStringConvertible {
    /// `text`, `varchar(n)`, or `char(n)` (blank-padded: trailing spaces are not kept).
    case text(maximumCharacters: Int?, blankPadded: Bool)
    /// `smallint`, `integer` or `bigint`: 2, 4 or 8 bytes.
    case integer(bytes: Int)
    /// `numeric(p, s)`, `numeric(p)` (scale 0), or `numeric` without either.
    case decimal(precision: Int?, scale: Int?)
    /// `double precision`.
    case double
    /// `real`: a float, which holds about 7 significant digits.
    case real
    /// `timestamp(p)` or, zoned, `timestamptz(p)`: `precision` digits of the second (6: microseconds).
    case timestamp(zoned: Bool, precision: Int)

    /// A PostgreSQL column as `information_schema.columns` describes it; nil for a type no field is
    /// stored in.
    init?(postgres udtName: String, characterLength: Int64?, numericPrecision: Int64?, numericScale: Int64?, datetimePrecision: Int64?) {
        func small(_ value: Int64?) -> Int? { value.flatMap { Int(exactly: $0) } }
        switch udtName {
        case "text": self = .text(maximumCharacters: nil, blankPadded: false)
        case "varchar": self = .text(maximumCharacters: small(characterLength), blankPadded: false)
        case "bpchar": self = .text(maximumCharacters: small(characterLength), blankPadded: true)
        case "int2": self = .integer(bytes: 2)
        case "int4": self = .integer(bytes: 4)
        case "int8": self = .integer(bytes: 8)
        case "numeric": self = .decimal(precision: small(numericPrecision), scale: small(numericScale))
        case "float8": self = .double
        case "float4": self = .real
        case "timestamp", "timestamptz":
            self = .timestamp(zoned: udtName == "timestamptz", precision: min(6, max(0, small(datetimePrecision) ?? 6)))
        default: return nil
        }
    }

    /// As the column would be declared: `varchar(50)`, `numeric(12,3)`, `timestamp with time zone`.
    var description: String {
        switch self {
        case .text(let length?, true): "char(\(length))"
        case .text(_, true): "char"
        case .text(let length?, false): "varchar(\(length))"
        case .text(nil, false): "text"
        case .integer(2): "smallint"
        case .integer(4): "integer"
        case .integer: "bigint"
        case .decimal(let precision?, let scale?) where scale != 0: "numeric(\(precision),\(scale))"
        case .decimal(let precision?, _): "numeric(\(precision))"
        case .decimal: "numeric"
        case .double: "double precision"
        case .real: "real"
        case .timestamp(let zoned, let precision):
            "timestamp" + (precision == 6 ? "" : "(\(precision))") + (zoned ? " with time zone" : "")
        }
    }

    /// The integers the column holds: its type's range, or `numeric(p)`'s ±(10^p − 1) (every
    /// 64-bit integer from 19 digits on); nil for a column that holds no integers only.
    var integerRange: ClosedRange<Int64>? {
        switch self {
        case .integer(2): return Int64(Int16.min)...Int64(Int16.max)
        case .integer(4): return Int64(Int32.min)...Int64(Int32.max)
        case .integer: return Int64.min...Int64.max
        case .decimal(nil, nil): return Int64.min...Int64.max
        case .decimal(let precision?, let scale) where (scale ?? 0) == 0:
            guard precision < 19 else { return Int64.min...Int64.max }
            let largest = (0..<max(1, precision)).reduce(Int64(0)) { value, _ in value * 10 + 9 }
            return -largest...largest
        default: return nil
        }
    }

    /// Why `field` (nil: the id column) cannot be stored in a column of this type and read back
    /// exactly, if it cannot.
    func problem(storing field: PipelineField?) -> String? {
        let accepted: String
        guard let field else {
            if case .integer = self { return nil }
            return "is \(self), expected bigint, integer or smallint"
        }
        switch (field.kind, self) {
        case (.localDateTime, .timestamp), (.instant, .timestamp): return nil
        case (.number, .double), (.number, .real), (.number, .decimal): return nil
        case (.integer, .integer), (.optionalInteger, .integer): return nil
        case (.integer, .decimal), (.optionalInteger, .decimal):
            if integerRange != nil { return nil }
            return "is \(self), which holds fractions that a \(field.rawValue) never has; expected an integer type (bigint, integer, numeric(p))"
        case (.text, .text), (.optionalText, .text): return nil
        case (.localDateTime, _), (.instant, _): accepted = "timestamp or timestamp with time zone"
        case (.number, _): accepted = "double precision, real or numeric"
        case (.integer, _), (.optionalInteger, _): accepted = "bigint, integer, smallint or numeric(p)"
        case (.text, _), (.optionalText, _): accepted = "text, varchar or char"
        }
        return "is \(self), expected \(accepted)"
    }
}
