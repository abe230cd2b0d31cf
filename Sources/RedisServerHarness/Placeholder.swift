public enum _H {}
