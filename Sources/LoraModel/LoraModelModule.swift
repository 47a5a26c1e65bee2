public enum LoraModelModule {}
