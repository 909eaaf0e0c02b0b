#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as a message's Date header gives it: the instant and the sender's zone.
public struct MessageDate: Sendable, Hashable, Comparable {
    /// The instant, in seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64
    /// The sender's offset from UTC in minutes (east positive); 0 when the header had none.
    public var utcOffsetMinutes: Int

    public init(secondsSince1970: Int64, utcOffsetMinutes: Int = 0) {
        self.secondsSince1970 = secondsSince1970
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    public static func < (left: MessageDate, right: MessageDate) -> Bool {
        left.secondsSince1970 < right.secondsSince1970
    }

    /// The current time, in UTC.
    public static func now() -> MessageDate {
        MessageDate(secondsSince1970: Int64(time(nil)), utcOffsetMinutes: 0)
    }

    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    /// RFC 5322 section 4.3 obs-zone names, plus UTC and a few zones real mail uses.
    static let zoneNames: [String: Int] = [
        "ut": 0, "gmt": 0, "utc": 0, "z": 0, "est": -300, "edt": -240, "cst": -360, "cdt": -300,
        "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "cet": 60, "cest": 120, "bst": 60,
        "jst": 540, "ist": 330, "eet": 120, "eest": 180, "wet": 0, "west": 60, "hst": -600,
        "akst": -540, "akdt": -480, "aest": 600, "aedt": 660, "met": 60, "mest": 120, "kst": 540,
    ]

    // date-time   = [ day-of-week "," ] date time [CFWS]
    // date        = day month year ; time = time-of-day zone
    // time-of-day = hour ":" minute [ ":" second ]
    // zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
    /// Parses RFC 5322 dates and the common broken forms: two- and three-digit years, missing
    /// seconds or weekday or comma, named and military zones, zones like `+05:30`, asctime
    /// (`Mon Jan  1 12:00:00 2020`), `1-Jan-2020`, ISO 8601 (`2020-01-01T12:00:00Z`),
    /// trailing comments, and a missing zone (taken as UTC).
    public init?<Bytes: Collection>(parsing value: Bytes) where Bytes.Element == UInt8 {
        let bytes = Array(value)
        var numbers: [(value: Int, digits: Int)] = []
        var clock: [Int]? = nil
        var month: Int? = nil
        var zone: Int? = nil
        var isPM: Bool? = nil
        var index = 0
        var sawISODate = false
        var isoParts: [Int] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.openParenthesis {
                ParameterGrammar.skipComment(bytes, &index)
                continue
            }
            if byte >= 0x30 && byte <= 0x39 {
                var components: [Int] = []
                var digits = 0
                var current = 0
                while index < bytes.count {
                    let digit = bytes[index]
                    if digit >= 0x30 && digit <= 0x39 {
                        if digits < 9 { current = current * 10 + Int(digit - 0x30) }
                        digits += 1
                        index += 1
                    } else if clock == nil && components.count < 2,
                              let next = Self.digitAfterColon(bytes, from: index) {
                        // obs-time allows CFWS around ":" (RFC 5322 A.6.3: "09(comment):   55  :  06").
                        components.append(current); current = 0; digits = 0; index = next
                    } else { break }
                }
                if !components.isEmpty {
                    components.append(current)
                    clock = components
                    // ISO 8601 fractional seconds: skip them.
                    if index < bytes.count, bytes[index] == ASCII.period {
                        index += 1
                        while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
                    }
                    continue
                }
                // ISO 8601 date: 4DIGIT "-" 2DIGIT "-" 2DIGIT
                if digits == 4, numbers.isEmpty, month == nil, index < bytes.count, bytes[index] == ASCII.hyphen,
                   index + 1 < bytes.count, bytes[index + 1] >= 0x30 && bytes[index + 1] <= 0x39 {
                    isoParts = [current]
                    while isoParts.count < 3, index < bytes.count, bytes[index] == ASCII.hyphen {
                        index += 1
                        var part = 0, partDigits = 0
                        while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39, partDigits < 4 {
                            part = part * 10 + Int(bytes[index] - 0x30); partDigits += 1; index += 1
                        }
                        isoParts.append(part)
                    }
                    sawISODate = isoParts.count == 3
                    if index < bytes.count, bytes[index] == UInt8(ascii: "T") || bytes[index] == UInt8(ascii: "t") { index += 1 }
                    continue
                }
                numbers.append((current, digits))
                continue
            }
            if (byte == UInt8(ascii: "+") || byte == ASCII.hyphen), clock != nil, zone == nil,
               index + 1 < bytes.count, bytes[index + 1] >= 0x30 && bytes[index + 1] <= 0x39 {
                let sign = byte == ASCII.hyphen ? -1 : 1
                index += 1
                var digitsRead: [Int] = []
                while index < bytes.count, digitsRead.count < 4 {
                    let digit = bytes[index]
                    if digit >= 0x30 && digit <= 0x39 { digitsRead.append(Int(digit - 0x30)); index += 1 }
                    else if digit == ASCII.colon && digitsRead.count == 2 { index += 1 }
                    else { break }
                }
                let hours: Int, minutes: Int
                switch digitsRead.count {
                case 4: hours = digitsRead[0] * 10 + digitsRead[1]; minutes = digitsRead[2] * 10 + digitsRead[3]
                case 3: hours = digitsRead[0]; minutes = digitsRead[1] * 10 + digitsRead[2]
                case 2: hours = digitsRead[0] * 10 + digitsRead[1]; minutes = 0
                default: hours = digitsRead.first ?? 0; minutes = 0
                }
                if hours <= 23 && minutes <= 59 { zone = sign * (hours * 60 + minutes) }
                continue
            }
            if (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A {
                let start = index
                while index < bytes.count, ((bytes[index] | 0x20) >= 0x61 && (bytes[index] | 0x20) <= 0x7A) { index += 1 }
                let word = String(decoding: bytes[start..<index].map(ASCII.lowercased), as: UTF8.self)
                if month == nil, word.count >= 3, let found = Self.monthNames.firstIndex(of: String(word.prefix(3))) {
                    month = found + 1
                } else if clock != nil || sawISODate, zone == nil, let offset = Self.zoneNames[word] {
                    zone = offset
                } else if word == "am" || word == "pm" {
                    isPM = word == "pm"
                } else if clock != nil, zone == nil, word.count == 1 {
                    // obs-zone military letters carry no reliable meaning (RFC 5322 4.3): treat as -0000.
                    zone = 0
                }
                continue
            }
            index += 1
        }

        var day: Int? = nil, year: Int? = nil, monthNumber = month
        if sawISODate {
            year = isoParts[0]; monthNumber = isoParts[1]; day = isoParts[2]
        } else {
            var yearDigits = 0
            for number in numbers {
                if number.digits >= 3 || number.value > 31 {
                    if year == nil { year = number.value; yearDigits = number.digits }
                } else if day == nil {
                    day = number.value
                } else if year == nil {
                    year = number.value; yearDigits = number.digits
                }
            }
            // obs-year (RFC 5322 4.3): two digits are 1950-2049, three digits add 1900.
            if let value = year, yearDigits <= 2 { year = value < 50 ? 2000 + value : 1900 + value }
            if let value = year, yearDigits == 3 { year = value + 1900 }
        }
        guard let day, let year, let monthNumber, (1...12).contains(monthNumber), (1...Self.daysIn(month: monthNumber, year: year)).contains(day),
              (1...9999).contains(year) else { return nil }
        var hour = clock?[0] ?? 0
        var minute = clock.map { $0.count > 1 ? $0[1] : 0 } ?? 0
        var second = clock.map { $0.count > 2 ? $0[2] : 0 } ?? 0
        if let isPM { if isPM && hour < 12 { hour += 12 } else if !isPM && hour == 12 { hour = 0 } }
        // A valid day with an impossible time is that day at midnight (RFC 5256 2.2).
        if hour > 24 || minute > 59 || second > 60 { (hour, minute, second) = (0, 0, 0) }
        if second == 60 { second = 59 }  // a leap second: keep it within the minute
        let offset = zone ?? 0
        let days = Self.daysSince1970(year: year, month: monthNumber, day: day)
        let local = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.init(secondsSince1970: local - Int64(offset * 60), utcOffsetMinutes: offset)
    }

    /// When `[CFWS] ":" [CFWS] DIGIT` starts at `index`, the index of that digit.
    static func digitAfterColon(_ bytes: [UInt8], from index: Int) -> Int? {
        var probe = index
        ParameterGrammar.skipWhitespaceAndComments(bytes, &probe)
        guard probe < bytes.count, bytes[probe] == ASCII.colon else { return nil }
        probe += 1
        ParameterGrammar.skipWhitespaceAndComments(bytes, &probe)
        guard probe < bytes.count, bytes[probe] >= 0x30 && bytes[probe] <= 0x39 else { return nil }
        return probe
    }

    /// The days of `month` in `year` (Gregorian): a Date on 31 Feb names no day, and is no date.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil algorithm).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let adjustedYear = month <= 2 ? year - 1 : year
        let era = (adjustedYear >= 0 ? adjustedYear : adjustedYear - 399) / 400
        let yearOfEra = adjustedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysSince1970`.
    public static func civilDate(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// RFC 5322 section 3.3 form, in the stored zone: `Thu, 13 Feb 1969 23:32:54 -0330`.
    public var rfc5322: String {
        let local = secondsSince1970 + Int64(utcOffsetMinutes * 60)
        var days = Int(local / 86_400)
        var secondsOfDay = Int(local % 86_400)
        if secondsOfDay < 0 { secondsOfDay += 86_400; days -= 1 }
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        let weekday = Self.dayNames[((days % 7) + 11) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let monthName = Self.monthNames[month - 1]
        let capitalized = monthName.prefix(1).uppercased() + monthName.dropFirst()
        let sign = utcOffsetMinutes < 0 ? "-" : "+"
        let offset = abs(utcOffsetMinutes)
        return "\(weekday), \(day) \(capitalized) \(year) \(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60)) \(sign)\(two(offset / 60))\(two(offset % 60))"
    }
}
