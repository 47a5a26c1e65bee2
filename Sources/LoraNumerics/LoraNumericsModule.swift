public enum LoraNumericsModule {}
