import IMAPGrammar
import MIME

extension IMAPDateTime {
    /// A UTC date-time for seconds since 1970 (INTERNALDATE is kept in UTC).
    init(secondsSince1970 seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = MessageDate.civilDate(daysSince1970: Int(days))
        self.init(date: IMAPDate(year: year, month: month, day: day),
                  hour: secondOfDay / 3600, minute: secondOfDay % 3600 / 60, second: secondOfDay % 60, zoneMinutes: 0)
    }
}
