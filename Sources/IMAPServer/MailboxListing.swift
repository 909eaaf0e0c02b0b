import IMAPGrammar
import MailCore

/// Which names LIST and LSUB answer with, and their attributes, from the grant's folders and
/// subscriptions (RFC 3501 6.3.8, 6.3.9; RFC 5258 3, 4 for `SUBSCRIBED`, `RECURSIVEMATCH` and
/// `CHILDINFO`). Pure: the session reads the store and writes the answers.
struct MailboxListing {
    let folders: [MailFolder]
    let subscriptions: Set<String>
    /// Names go out in UTF-8 (IMAP4rev2) rather than modified UTF-7.
    let utf8Names: Bool
    private let folderNames: Set<String>
    /// Names with at least one folder below them.
    private let parents: Set<String>
    /// Names with at least one subscribed name below them.
    private let subscribedParents: Set<String>

    init(folders: [MailFolder], subscriptions: Set<String>, utf8Names: Bool = false) {
        self.folders = folders
        self.subscriptions = subscriptions
        self.utf8Names = utf8Names
        folderNames = Set(folders.map(\.name))
        parents = Set(folders.flatMap { FolderName.ancestors(of: $0.name) })
        subscribedParents = Set(subscriptions.flatMap { FolderName.ancestors(of: $0) })
    }

    static func attributes(of folder: MailFolder, hasChildren: Bool) -> [MailboxAttribute] {
        var attributes: [MailboxAttribute] = [hasChildren ? .hasChildren : .hasNoChildren]
        if let use = IMAPSession.useAttribute(of: folder) { attributes.append(MailboxAttribute(wire: use)) }
        return attributes
    }

    private func entry(_ name: String, _ attributes: [MailboxAttribute], childInfo: [String] = []) -> MailboxListEntry {
        MailboxListEntry(attributes: attributes, delimiter: MailFolder.hierarchyDelimiter, name: utf8Names ? MailboxName(wire: name) : MailboxName(decoded: name),
                         childInfo: childInfo)
    }

    /// LIST: every folder whose name matches, `\Subscribed` added when asked (`RETURN (SUBSCRIBED)`).
    /// A level of hierarchy that is no folder (its folder was deleted, or never made) but has folders
    /// below it is listed `\Noselect` where `levelsMatching` takes it (RFC 3501 6.3.4, 6.3.8: patterns
    /// ending in `%`), just before the first folder below it.
    func entries(matching matches: (String) -> Bool, levelsMatching: (String) -> Bool = { _ in false },
                 markingSubscribed: Bool) -> [MailboxListEntry] {
        var entries: [MailboxListEntry] = []
        var listedLevels = Set<String>()
        for folder in folders {
            for level in FolderName.ancestors(of: folder.name) where !folderNames.contains(level) && !listedLevels.contains(level) {
                guard levelsMatching(level) else { continue }
                listedLevels.insert(level)
                var attributes: [MailboxAttribute] = [.noSelect, .hasChildren]
                if markingSubscribed && subscriptions.contains(level) { attributes.append(.subscribed) }
                entries.append(entry(level, attributes))
            }
            guard matches(folder.name) else { continue }
            var attributes = Self.attributes(of: folder, hasChildren: parents.contains(folder.name))
            if markingSubscribed && subscriptions.contains(folder.name) { attributes.append(.subscribed) }
            entries.append(entry(folder.name, attributes))
        }
        return entries
    }

    /// LSUB, and LIST with the `SUBSCRIBED` selection option: the subscribed names that match, existing
    /// folders first in folder order, then names without a folder (LSUB: `\Noselect`; LIST:
    /// `\NonExistent`). A name that does not match but sits below one that does brings that one in:
    /// for LSUB with `\Noselect` when it is not subscribed itself (RFC 3501 6.3.9, the `%` case), for
    /// LIST only with `RECURSIVEMATCH`, marked `CHILDINFO ("SUBSCRIBED")`.
    func subscribedEntries(matching matches: (String) -> Bool, lsub: Bool, recursiveMatch: Bool) -> [MailboxListEntry] {
        let ordered = folders.map(\.name).filter(subscriptions.contains) + subscriptions.subtracting(folderNames).sorted()
        let byName = Dictionary(folders.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func attributes(_ name: String) -> [MailboxAttribute] {
            guard let folder = byName[name] else { return [lsub ? .noSelect : .nonExistent] }
            return Self.attributes(of: folder, hasChildren: parents.contains(name))
        }
        var entries: [MailboxListEntry] = []
        var listed = Set<String>()
        for name in ordered where matches(name) {
            listed.insert(name)
            let childInfo = !lsub && recursiveMatch && subscribedParents.contains(name) ? ["SUBSCRIBED"] : []
            entries.append(entry(name, attributes(name) + (lsub ? [] : [.subscribed]), childInfo: childInfo))
        }
        guard lsub || recursiveMatch else { return entries }
        for name in ordered where !matches(name) {
            for ancestor in FolderName.ancestors(of: name) where !subscriptions.contains(ancestor) && !listed.contains(ancestor) {
                guard matches(ancestor) else { continue }
                listed.insert(ancestor)
                entries.append(lsub ? entry(ancestor, [.noSelect]) : entry(ancestor, attributes(ancestor), childInfo: ["SUBSCRIBED"]))
            }
        }
        return entries
    }
}
