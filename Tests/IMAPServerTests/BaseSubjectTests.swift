import Testing

@testable import MailSearch

/// RFC 5256 section 2.1, step by step: each vector exercises one rule of the extraction.
let baseSubjectVectors: [(String, String, Bool)] = [
    ("hello", "hello", false),
    ("Re: hello", "hello", true),
    ("RE: re: Re:hello", "hello", true),
    ("re :hello", "hello", true),                          // subj-refwd allows WSP before ":"
    ("Re [2]: hello", "hello", true),                      // ... and a blob
    ("Re[5]: Fwd: FW: hello", "hello", true),
    ("Fwd: hello", "hello", true),
    ("Fw: hello", "hello", true),
    ("hello (fwd)", "hello", true),                        // (2) subj-trailer
    ("hello (FWD) (fwd)  ", "hello", true),
    ("[PATCH] hello", "hello", false),                     // (4) a blob that leaves a base behind
    ("[PATCH]", "[PATCH]", false),                         // ... and one that would not
    ("[a][b] c", "c", false),
    ("[list] Re: hello", "hello", true),                   // subj-leader = *subj-blob subj-refwd
    ("Re: [list] hello", "hello", true),
    ("[fwd: hello]", "hello", true),                       // (6) subj-fwd
    ("[Fwd: Re: hello]", "hello", true),
    ("Re: [fwd: Re: hello]", "hello", true),
    ("[fwd: [list] hello] (fwd)", "hello", true),
    ("  hello\tbig \r\n world  ", "hello big world", false), // (1) white space
    ("Re(2): hello", "Re(2): hello", false),              // not a subj-refwd
    ("Aw: hello", "Aw: hello", false),
    ("Reply: hello", "Reply: hello", false),
    ("Fwd hello", "Fwd hello", false),
    ("Re:", "", true),
    ("", "", false),
    ("[un]closed [bracket", "closed [bracket", false),
    ("Re: Grüße aus Köln", "Grüße aus Köln", true),
]

@Test("base subject extraction (RFC 5256 2.1)", arguments: baseSubjectVectors)
func baseSubjectExtraction(_ subject: String, _ base: String, _ isReplyOrForward: Bool) {
    let extracted = BaseSubject(subject)
    #expect(extracted.text == base)
    #expect(extracted.isReplyOrForward == isReplyOrForward)
}
