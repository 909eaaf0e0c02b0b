import IMAPGrammar
import MailCore
import MailSearch

/// SORT and UID SORT (RFC 5256, with ESORT's RETURN of RFC 5267 and the DISPLAY keys of RFC 5957),
/// THREAD and UID THREAD (RFC 5256). Both search as SEARCH does, then order what matched.
extension IMAPSession {
    func sort(_ grant: Grant, _ command: SortCommand, byUID: Bool, tag: String) async throws -> [Response] {
        try await emptyingSavedResultOnFailure(saving: command.returnOptions) {
            try await sortAndSave(grant, command, byUID: byUID, tag: tag)
        }
    }

    private func sortAndSave(_ grant: Grant, _ command: SortCommand, byUID: Bool, tag: String) async throws -> [Response] {
        try checkSearchable(command.search)
        let withModseq = SearchEvaluator.mentionsModSeq(command.search.key)
        let early = withModseq ? beginCondstore() : []
        let found = try await matchingMessages(grant, command.search)
        let ordered = MessageSorter(command.criteria.map(Self.sorterCriterion)).sorted(found)
        let numbers = ordered.map { byUID ? $0.uid : $0.sequenceNumber }
        // RFC 7162 3.1.5 extends SORT like SEARCH: with MODSEQ in the key, the highest modseq found.
        func highest(of messages: [SearchCandidate]) -> UInt64? {
            guard withModseq, let top = messages.map(\.modseq).max() else { return nil }
            return UInt64(max(top, 0))
        }
        guard let options = command.returnOptions else {
            return early + [.untagged(.sort(numbers, modSeq: highest(of: ordered)))]
        }
        if options.contains(.save) {
            // MIN and MAX of a sort are its first and last message, and so is what they save.
            selected?.savedSearch = Self.savedResult(ordered.map(\.uid), options: options).sorted()
            if options.allSatisfy({ $0 == .save }) { return early }
        }
        // RFC 5267 3.1: ESORT answers with ESEARCH; MIN and MAX name the first and last message in
        // sort order, ALL lists every one in sort order.
        let wanted = options.isEmpty ? [SearchReturnOption.all] : options
        var result = ESearchResponse(tag: tag, uid: byUID)
        if wanted.contains(.min) { result.min = numbers.first }
        if wanted.contains(.max) { result.max = numbers.last }
        if wanted.contains(.all), !numbers.isEmpty { result.all = SequenceSet.ordered(numbers) }
        if wanted.contains(.count) { result.count = numbers.count }
        // RFC 4731 3.2: MIN or MAX alone (or both) report the modseq of the messages they name.
        let onlyEnds = !wanted.contains(.all) && !wanted.contains(.count)
        let ends = [wanted.contains(.min) ? ordered.first : nil, wanted.contains(.max) ? ordered.last : nil].compactMap { $0 }
        result.modSeq = onlyEnds ? highest(of: ends) : highest(of: ordered)
        return early + [.untagged(.esearch(result))]
    }

    func thread(_ grant: Grant, _ command: ThreadCommand, byUID: Bool) async throws -> [Response] {
        try checkSearchable(command.search)
        let early = SearchEvaluator.mentionsModSeq(command.search.key) ? beginCondstore() : []
        let found = try await matchingMessages(grant, command.search)
        let threader = MessageThreader(byUID: byUID)
        let threads = switch command.algorithm {
        case .orderedSubject: threader.orderedSubject(found)
        case .references: threader.references(found)
        }
        return early + [.untagged(.thread(threads))]
    }

    static func sorterCriterion(_ criterion: SortCriterion) -> MessageSorter.SortCriterionKey {
        let key: MessageSorter.Key = switch criterion.key {
        case .arrival: .arrival
        case .cc: .cc
        case .date: .date
        case .from: .from
        case .size: .size
        case .subject: .subject
        case .to: .to
        case .displayFrom: .displayFrom
        case .displayTo: .displayTo
        }
        return MessageSorter.SortCriterionKey(key, reverse: criterion.reverse)
    }
}
