//! The admin console: a few static files compiled into the binary and served
//! under `/console`, with a Content-Security-Policy that lets the page load
//! nothing but its own scripts and styles and talk to nothing but this API.

use lambda_http::{Body, Request, Response};
use shared::error::ApiError;

/// Nothing inline, nothing from elsewhere, no framing, no form posts.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// One file of the console.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! assets {
    ($($name:literal => $content_type:expr),* $(,)?) => {
        &[$(Asset { name: $name, content_type: $content_type, body: include_str!(concat!("../console/", $name)) }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "chart.js" => JS,
    "overview.js" => JS,
    "endpoints.js" => JS,
    "endpoint-form.js" => JS,
    "endpoint-settings.js" => JS,
    "deliveries.js" => JS,
    "sources.js" => JS,
    "source-form.js" => JS,
    "events.js" => JS,
    "event.js" => JS,
};

/// `GET /console` (the page) and `GET /console/{file}` (its scripts and styles).
pub fn serve(req: &Request, method: &str, path: &str, rest: &[&str]) -> Result<Response<Body>, ApiError> {
    if method != "GET" && method != "HEAD" {
        return Err(ApiError::new(405, "method_not_allowed", "use GET"));
    }
    let name = match rest {
        // The page's links are relative to `/console`, so `/console/` would
        // resolve them one level too deep: send the browser back.
        [] | [""] if path.ends_with('/') => return Ok(redirect("../console")),
        [] | [""] => "index.html",
        [name] if *name != "index.html" => *name,
        _ => return Err(ApiError::not_found("console file")),
    };
    let asset = ASSETS.iter().find(|a| a.name == name).ok_or_else(|| ApiError::not_found("console file"))?;
    let etag = format!("\"{:016x}\"", fnv1a(asset.body.as_bytes()));
    let fresh = req
        .headers()
        .get(lambda_http::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let builder = secured(Response::builder())
        .header("content-type", asset.content_type)
        // Revalidate every time: a deploy changes the files under the same names.
        .header("cache-control", "no-cache")
        .header("etag", &etag);
    let response = if fresh {
        builder.status(304).body(Body::Empty)
    } else if method == "HEAD" {
        builder.status(200).body(Body::Empty)
    } else {
        builder.status(200).body(Body::Text(asset.body.to_owned()))
    };
    Ok(response.expect("static response parts are valid"))
}

fn secured(builder: lambda_http::http::response::Builder) -> lambda_http::http::response::Builder {
    builder
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .header("cross-origin-opener-policy", "same-origin")
}

fn redirect(location: &str) -> Response<Body> {
    secured(Response::builder())
        .status(308)
        .header("location", location)
        .body(Body::Empty)
        .expect("static response parts are valid")
}

/// FNV-1a: a cheap, stable fingerprint for the ETag (not a security measure).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js") || a.name.ends_with(".html")) {
            for line in asset.body.lines() {
                let Some(spec) = line
                    .split(" from './")
                    .nth(1)
                    .or_else(|| line.split("src=\"console/").nth(1))
                    .or_else(|| line.split("href=\"console/").nth(1))
                else {
                    continue;
                };
                let file = spec.split(['\'', '"']).next().unwrap();
                assert!(ASSETS.iter().any(|a| a.name == file), "{} refers to {file}, which is not served", asset.name);
            }
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_the_policy_would_block() {
        let page = ASSETS.iter().find(|a| a.name == "index.html").unwrap().body;
        assert!(!page.contains("<style"), "inline <style>");
        assert!(!page.contains(" style="), "inline style attribute");
        for script in page.split("<script").skip(1) {
            assert!(script.contains("src="), "inline <script>");
        }
        for asset in ASSETS {
            assert!(!asset.body.contains("innerHTML"), "{}: build the DOM, do not parse strings into it", asset.name);
            for reference in ["src=\"", "href=\"", "url(", " from '", "fetch("] {
                for after in asset.body.split(reference).skip(1) {
                    let target = after.trim_start_matches(['\'', '"']);
                    assert!(
                        !target.starts_with("http") && !target.starts_with("//"),
                        "{} loads from elsewhere: {reference}{}",
                        asset.name,
                        &target[..target.len().min(40)]
                    );
                }
            }
        }
    }
}
