import PipelineCore
import Testing

// MARK: - Independent calendar arithmetic

/// Days from 1970-01-01 to the first day of each year 1...10000, by counting year lengths one by one
/// (deliberately not the closed-form algorithm the code under test uses).
enum NaiveCalendar {
    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static let yearStarts: [Int] = {
        var starts = [Int](repeating: 0, count: 10_002)
        for year in 1971...10_001 { starts[year] = starts[year - 1] + (isLeap(year - 1) ? 366 : 365) }
        for year in stride(from: 1969, through: 1, by: -1) { starts[year] = starts[year + 1] - (isLeap(year) ? 366 : 365) }
        return starts
    }()

    static func monthLengths(_ year: Int) -> [Int] { [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] }

    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        yearStarts[year] + monthLengths(year).prefix(month - 1).reduce(0, +) + day - 1
    }

    static func microseconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, micro: Int) -> Int64 {
        let days = Int64(daysSinceEpoch(year: year, month: month, day: day))
        return (days * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1_000_000 + Int64(micro)
    }
}

/// `value` in decimal, left-padded with zeros to `width` digits.
func zeroPadded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
