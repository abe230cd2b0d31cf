import Foundation
import Strata
import StrataRedis
import Testing

@Suite("Read sample recorder")
struct ReadSampleRecorderTests {
    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("strata-sample-\(UUID().uuidString)").path
    }

    @Test func recordsEveryNthReadAsANamespaceKeyLine() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try ReadSampleRecorder(configuration: .init(path: path, oneIn: 3))
        for index in 1...9 { recorder.offer("{products:v1:\(index)}") }
        recorder.offer("no namespace braces")
        try recorder.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "products {products:v1:3}\nproducts {products:v1:6}\nproducts {products:v1:9}\n")
        #expect(recorder.recordedLines == 3)
    }

    @Test func stopsAtTheByteBoundAndSkipsKeysWithWhitespace() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = "p {p:v1:1}\n".utf8.count
        let recorder = try ReadSampleRecorder(configuration: .init(path: path, oneIn: 1, maximumBytes: line * 2 + 1))
        recorder.offer("{p:v1:has space}")
        for _ in 0..<5 { recorder.offer("{p:v1:1}") }
        try recorder.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "p {p:v1:1}\np {p:v1:1}\n")
    }
}
