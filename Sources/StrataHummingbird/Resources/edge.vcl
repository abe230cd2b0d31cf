vcl 4.1;

# Varnish in front of a Hummingbird application that uses StrataHummingbird.
#
# What this VCL relies on, all of it emitted by the middleware:
#   Cache-Control: max-age=..., s-maxage=..., stale-while-revalidate=..., stale-if-error=...
#   ETag, Age, Vary, and `xkey: tag1 tag2 ...` (SurrogateKeyStyle.xkey)
#   `private, no-store` on everything that must never be shared.
#
# What it does:
#   * TTL from s-maxage (Varnish's own parsing, Age subtracted).
#   * Grace = max(stale-while-revalidate, stale-if-error); vcl_hit tells the two apart:
#     inside stale-while-revalidate a stale object is delivered while Varnish refreshes it in
#     the background; past it, the object is fetched in the foreground, and if the origin
#     answers 5xx (or is down) the stale object is delivered instead (stale-if-error).
#   * Tag purges: `PURGE` with `xkey-purge: tag ...` (or `xkey-softpurge`) from the `purgers`
#     ACL, as VarnishXkeyPurger sends them.
#   * Varnish's built-in rules stay in force (they run after these subroutines): requests with
#     Authorization or Cookie pass; responses with Set-Cookie, private, no-store or no-cache
#     are never cached.
#
# Start:  varnishd -n /var/lib/strata-edge -a :6081 -f /etc/varnish/edge.vcl -s malloc,256m
# Edit the backend and the ACL below for your deployment.

import std;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            set req.http.Strata-Purged = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged " + req.http.Strata-Purged));
        }
        if (req.http.xkey-softpurge) {
            set req.http.Strata-Purged = xkey.softpurge(req.http.xkey-softpurge);
            return (synth(200, "Soft-purged " + req.http.Strata-Purged));
        }
        return (synth(400, "xkey-purge or xkey-softpurge required"));
    }
    # Internal flags of the stale-if-error restarts: never accepted from a client.
    if (req.restarts == 0) {
        unset req.http.Strata-Refetch;
        unset req.http.Strata-Stale-If-Error;
    }
    # Past stale-while-revalidate (see vcl_hit): fetch in the foreground although a stale
    # object exists; a failed fetch leaves that object in place for stale-if-error. The flag
    # survives restarts, so it is set on every pass through here.
    if (req.http.Strata-Refetch) {
        set req.hash_always_miss = true;
    } else {
        set req.hash_always_miss = false;
    }
    # No return: the built-in vcl_recv runs next.
}

sub vcl_hit {
    if (obj.ttl >= 0s) {
        return (deliver);
    }
    # stale-while-revalidate: deliver now, Varnish refreshes the object in the background.
    if (obj.ttl + std.duration(obj.http.Strata-Swr + "s", 0s) >= 0s) {
        return (deliver);
    }
    # A restart after the origin failed: stale-if-error (grace covers its window).
    if (req.http.Strata-Stale-If-Error) {
        return (deliver);
    }
    set req.http.Strata-Refetch = "1";
    return (restart);
}

sub vcl_backend_response {
    if (beresp.status >= 500 && (bereq.is_bgfetch || bereq.http.Strata-Refetch)) {
        # A stale object exists: keep it rather than replace it with the error.
        return (abandon);
    }
    set beresp.http.Strata-Swr = "0";
    if (beresp.http.Cache-Control ~ "stale-while-revalidate=[0-9]+") {
        set beresp.http.Strata-Swr = regsub(beresp.http.Cache-Control, "^.*stale-while-revalidate=([0-9]+).*$", "\1");
    }
    set beresp.grace = std.duration(beresp.http.Strata-Swr + "s", 0s);
    if (beresp.http.Cache-Control ~ "stale-if-error=[0-9]+") {
        set beresp.http.Strata-Sie = regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1");
        if (std.duration(beresp.http.Strata-Sie + "s", 0s) > beresp.grace) {
            set beresp.grace = std.duration(beresp.http.Strata-Sie + "s", 0s);
        }
        unset beresp.http.Strata-Sie;
    }
    # No return: the built-in rules (Set-Cookie, private, no-store ...) run next.
}

sub vcl_synth {
    # The foreground refetch of a stale object failed (abandoned 5xx, or the origin is down):
    # look the stale object up again and deliver it.
    if (resp.status == 503 && req.http.Strata-Refetch && !req.http.Strata-Stale-If-Error && req.restarts < 3) {
        unset req.http.Strata-Refetch;
        set req.http.Strata-Stale-If-Error = "1";
        return (restart);
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.Strata-Edge = "HIT";
    } else {
        set resp.http.Strata-Edge = "MISS";
    }
    # Edge-only fields: clients need neither the tags nor the internal window.
    unset resp.http.xkey;
    unset resp.http.Strata-Swr;
}
