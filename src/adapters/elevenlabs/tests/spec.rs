//! Checks against ElevenLabs' published OpenAPI excerpt: the multipart clone request part by
//! part, and JSON bodies property by property through the schemas' `$ref`s.

use std::convert::Infallible;

use bytes::Bytes;
use serde_json::{Value, json};
use wiremock::Request;

use super::{AGENT_ID, API_KEY, CONVERSATION_ID, CloneFixture, OWNER, header_of};

/// A copy of ElevenLabs' published OpenAPI excerpt (see tests/fixtures/elevenlabs).
const OPENAPI_EXCERPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/elevenlabs/openapi-excerpt.json"
);

/// One part of a received multipart body.
#[derive(Debug)]
struct FormPart {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Bytes,
}

impl FormPart {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap()
    }
}

/// Parses a received `multipart/form-data` body with `multer`, in order.
async fn form_parts(request: &Request) -> Vec<FormPart> {
    let boundary = multer::parse_boundary(header_of(request, "content-type")).unwrap();
    let body = Bytes::from(request.body.clone());
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        parts.push(FormPart {
            name: field.name().unwrap().to_owned(),
            file_name: field.file_name().map(str::to_owned),
            content_type: field.content_type().map(ToString::to_string),
            bytes: field.bytes().await.unwrap(),
        });
    }
    parts
}

fn part<'a>(parts: &'a [FormPart], name: &str) -> &'a FormPart {
    let mut matching = parts.iter().filter(|p| p.name == name);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("no `{name}` part"));
    assert!(matching.next().is_none(), "more than one `{name}` part");
    found
}

pub(super) fn openapi() -> Value {
    let text = std::fs::read_to_string(OPENAPI_EXCERPT)
        .unwrap_or_else(|e| panic!("cannot read the OpenAPI excerpt {OPENAPI_EXCERPT}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A schema by name; the docs' Fern overrides (which type `conversation_config` precisely)
/// win over the raw spec, as they do for ElevenLabs' SDKs.
pub(super) fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    spec["fern_overrides"]
        .get(name)
        .or_else(|| spec["components"]["schemas"].get(name))
        .unwrap_or_else(|| panic!("no schema {name} in the excerpt"))
}

/// Every key of `value` is a property of the schema, recursively through `$ref`s; string
/// properties hold strings and boolean ones booleans.
pub(super) fn assert_fits_schema(spec: &Value, value: &Value, schema_name: &str, at: &str) {
    let properties = schema(spec, schema_name)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema_name} has no properties"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at} is not an object"));
    for (key, inner) in object {
        let at = format!("{at}.{key}");
        let property = properties
            .get(key)
            .unwrap_or_else(|| panic!("{at} is not a property of {schema_name}"));
        if let Some(target) = property.get("$ref").and_then(Value::as_str) {
            let target = target.strip_prefix("#/components/schemas/").unwrap();
            assert_fits_schema(spec, inner, target, &at);
        } else {
            match property.get("type").and_then(Value::as_str) {
                Some("string") => assert!(inner.is_string(), "{at} should be a string"),
                Some("boolean") => assert!(inner.is_boolean(), "{at} should be a boolean"),
                _ => {}
            }
        }
    }
}

/// Asserts that `request` is the clone request ElevenLabs documents, carrying `fixture`.
pub(super) async fn assert_clone_request(
    request: &Request,
    fixture: &CloneFixture,
    file_name: &str,
    mime: &str,
) {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/v1/voices/add");
    assert_eq!(header_of(request, "xi-api-key"), API_KEY);
    assert!(header_of(request, "user-agent").starts_with("precall-webhook/"));
    assert!(header_of(request, "content-type").starts_with("multipart/form-data; boundary="));

    let parts = form_parts(request).await;
    let mut names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "description",
            "files",
            "labels",
            "name",
            "remove_background_noise"
        ]
    );

    assert_eq!(part(&parts, "name").text(), fixture.name.as_str());

    let file = part(&parts, "files");
    assert_eq!(file.file_name.as_deref(), Some(file_name));
    assert_eq!(file.content_type.as_deref(), Some(mime));
    assert_eq!(
        &file.bytes,
        fixture.sample.bytes(),
        "the sample, byte for byte"
    );

    let description = part(&parts, "description");
    assert!(description.file_name.is_none());
    assert!(description.text().contains(CONVERSATION_ID));

    let labels: Value = serde_json::from_str(part(&parts, "labels").text()).unwrap();
    assert_eq!(
        labels,
        json!({
            "source": "precall-webhook",
            "owner": OWNER,
            "conversation_id": CONVERSATION_ID,
            "agent_id": AGENT_ID
        })
    );

    assert_eq!(part(&parts, "remove_background_noise").text(), "false");

    // Against `Body_Add_voice_v1_voices_add_post`: only known parts, all required ones present.
    let spec = openapi();
    let add_voice = schema(&spec, "Body_Add_voice_v1_voices_add_post");
    for part in &parts {
        assert!(
            add_voice["properties"].get(&part.name).is_some(),
            "`{}` is not a field of Body_Add_voice_v1_voices_add_post",
            part.name
        );
    }
    for required in add_voice["required"].as_array().unwrap() {
        let required = required.as_str().unwrap();
        assert!(names.contains(&required), "required `{required}` missing");
    }
}
