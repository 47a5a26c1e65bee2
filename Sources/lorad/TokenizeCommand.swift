import ArgumentParser
import Foundation
import LoraTokenizer

/// `lorad tokenize`: encodes JSON strings (or decodes JSON id arrays) from stdin with lorad's tokenizer, one per
/// line, so it can be held against any other implementation.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode JSON strings from stdin to JSON id arrays, one per line (or decode with --decode).",
        discussion: """
        Each input line is one JSON string (with --decode: one JSON array of token ids); each output line is the \
        corresponding JSON array (with --decode: JSON string). Example:
          echo '"Hello world"' | lorad tokenize --tokenizer model/tokenizer.json --special
        """
    )

    @Option(help: "A tokenizer.json file, or a model directory with one (then tokenizer_config.json and generation_config.json are read too).")
    var tokenizer: String

    @Flag(help: "Encoding: add the special tokens of the post-processor (BOS, …). Decoding: keep special tokens in the text.")
    var special = false

    @Flag(help: "Read JSON arrays of ids and write JSON strings. Special tokens (added tokens with special: true) are left out by id, as transformers does, unless --special is given.")
    var decode = false

    @Option(help: ArgumentHelp("Decoding: apply transformers' clean_up_tokenization (\" .\" → \".\", \" n't\" → \"n't\", …). Default: clean_up_tokenization_spaces of the model directory's tokenizer_config.json, else false.", valueName: "true|false"))
    var cleanUpTokenizationSpaces: Bool?

    func run() throws {
        let loaded: Tokenizer
        do {
            var isDirectory: ObjCBool = false
            let url = URL(fileURLWithPath: tokenizer)
            if FileManager.default.fileExists(atPath: tokenizer, isDirectory: &isDirectory), isDirectory.boolValue {
                loaded = try Tokenizer(directory: url)
            } else {
                loaded = try Tokenizer(contentsOf: url)
            }
        } catch {
            Self.fail(String(describing: error))
        }
        let output = FileHandle.standardOutput
        var lineNumber = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            do {
                if decode {
                    let ids = try TokenizerJSON.decodeIds(line)
                    output.write(Data((TokenizerJSON.encode(loaded.decode(ids, skipSpecialTokens: !special,
                                                 cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)) + "\n").utf8))
                } else {
                    let text = try TokenizerJSON.decodeString(line)
                    output.write(Data((TokenizerJSON.encode(loaded.encode(text, addSpecialTokens: special)) + "\n").utf8))
                }
            } catch {
                Self.fail("stdin line \(lineNumber): \(error)")
            }
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("lorad tokenize: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
