import Foundation
import Logging
@testable import LoraDaemon
import Testing

/// The journal handler's fields and the JOURNAL_STREAM check that chooses it.
struct JournalLogHandlerTests {
    @Test func structuredFieldsCarryTheDocumentedKeys() {
        let fields = JournalLogHandler.fields(level: .warning, message: "setLoras committed",
                                              metadata: ["job_id": "7", "adapter": "dragon", "epoch": "3", "peer_uid": "1000", "promptTokens": "12"],
                                              label: "lorad")
        for expected in ["PRIORITY=4", "SYSLOG_IDENTIFIER=lorad", "JOB_ID=7", "ADAPTER=dragon", "EPOCH=3", "PEER_UID=1000", "LORAD_PROMPT_TOKENS=12"] {
            #expect(fields.contains(expected), "\(expected) missing from \(fields)")
        }
        let message = fields.first { $0.hasPrefix("MESSAGE=") }
        #expect(message == "MESSAGE=setLoras committed adapter=dragon epoch=3 job_id=7 peer_uid=1000 promptTokens=12")
        #expect(JournalLogHandler.priority(.critical) == 2 && JournalLogHandler.priority(.debug) == 7 && JournalLogHandler.priority(.notice) == 5)
    }

    @Test func journalStreamMustNameStderrItself() throws {
        let path = NSTemporaryDirectory() + "lorad-journal-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_WRONLY)
        defer { close(fd) }
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        let value = "\(info.st_dev):\(info.st_ino)"
        #expect(JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": value], fd: fd))
        #expect(!JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino + 1)"], fd: fd))
        #expect(!JournalLogHandler.stderrIsJournal(environment: [:], fd: fd))
        #expect(!JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "garbage"], fd: fd))
    }
}

/// Socket activation's choice among inherited descriptors.
struct SocketActivationChoiceTests {
    @Test func picksByNameTakesOneUnnamedAndRefusesTheRest() throws {
        #expect(try SocketActivation.choose([], name: "lorad") == nil)
        #expect(try SocketActivation.choose([(3, "metrics"), (4, "lorad")], name: "lorad") == 4)
        #expect(try SocketActivation.choose([(3, "unknown")], name: "lorad") == 3)
        #expect(throws: DaemonStartError.self) { try SocketActivation.choose([(3, "other")], name: "lorad") }
        #expect(throws: DaemonStartError.self) { try SocketActivation.choose([(3, "unknown"), (4, "unknown")], name: "lorad") }
    }
}
