/// Placeholder namespace; replaced by the tokenizer implementation.
public enum LoraTokenizerModule {}
