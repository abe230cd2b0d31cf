/// The Redis implementations of Strata's tier protocols.
public enum StrataRedis {}
