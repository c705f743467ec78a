//! The benchmark's own local stack: a moto server, the resources of `template.yaml` (created by
//! the project's provisioner, `infra/local/provision.py`, which also writes the functions'
//! environment) and the iProov sandbox — on free ports and in a state directory of its own, so
//! a `make test` or `make dev` running at the same time is neither disturbed nor disturbing.
//! No gateway, SQS poller or cargo-lambda: the harness is the event source.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Error;

pub const REGION: &str = "eu-west-1";
pub const ACCOUNT_ID: &str = "123456789012";

pub struct Stack {
    pub aws_endpoint: String,
    pub sandbox_url: String,
    /// The functions' environment as the provisioner wrote it.
    pub env: BTreeMap<String, String>,
    http: reqwest::Client,
    children: Vec<(String, Child)>,
}

pub struct Paths<'a> {
    pub root: &'a Path,
    pub local_dir: &'a Path,
    pub sandbox_binary: &'a Path,
}

fn free_port() -> Result<u16, Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn port_from_env(name: &str) -> Result<u16, Error> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v.parse().map_err(|_| format!("{name} must be a port"))?),
        _ => free_port(),
    }
}

impl Stack {
    pub async fn start(paths: &Paths<'_>) -> Result<Stack, Error> {
        let logs = paths.local_dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let aws_port = port_from_env("BENCH_AWS_PORT")?;
        let sandbox_port = port_from_env("BENCH_SANDBOX_PORT")?;
        let http = reqwest::Client::builder().no_proxy().build()?;
        let mut stack = Stack {
            aws_endpoint: format!("http://127.0.0.1:{aws_port}"),
            sandbox_url: format!("http://127.0.0.1:{sandbox_port}"),
            env: BTreeMap::new(),
            http,
            children: Vec::new(),
        };
        let venv = paths.root.join(".venv/bin");
        let aws_env = [
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];

        let moto = spawn(
            Command::new(venv.join("moto_server"))
                .args(["-H", "127.0.0.1", "-p", &aws_port.to_string()])
                .envs(aws_env),
            &logs.join("moto.log"),
        )?;
        stack.children.push(("moto".into(), moto));
        let moto_api = format!("{}/moto-api/", stack.aws_endpoint);
        stack.wait_until("moto", &moto_api, false).await?;

        let status = Command::new(venv.join("python"))
            .arg(paths.root.join("infra/local/provision.py"))
            .current_dir(paths.root)
            .envs(aws_env)
            .env("LOCAL_DIR", paths.local_dir)
            .env("AWS_PORT", aws_port.to_string())
            .env("SANDBOX_PORT", sandbox_port.to_string())
            .env("API_PORT", free_port()?.to_string())
            .env("LAMBDA_PORT", free_port()?.to_string())
            .env_remove("LOCAL_VISIBILITY_TIMEOUT")
            .stdout(File::create(logs.join("provision.log"))?)
            .stderr(
                File::options()
                    .append(true)
                    .open(logs.join("provision.log"))?,
            )
            .status()?;
        if !status.success() {
            return Err(format!(
                "provisioning failed ({status}); see {}",
                logs.join("provision.log").display()
            )
            .into());
        }
        stack.env = read_env_file(&paths.local_dir.join("functions.env"))?;

        let sandbox = spawn(
            Command::new(paths.sandbox_binary)
                .args(["--port", &sandbox_port.to_string()])
                .env("RUST_LOG", "warn"),
            &logs.join("sandbox.log"),
        )?;
        stack.children.push(("sandbox".into(), sandbox));
        let health = format!("{}/health", stack.sandbox_url);
        stack
            .wait_until("the iProov sandbox", &health, true)
            .await?;
        Ok(stack)
    }

    async fn wait_until(&mut self, what: &str, url: &str, need_ok: bool) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = self.http.get(url).send().await
                && (!need_ok || r.status().is_success())
            {
                return Ok(());
            }
            for (name, child) in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    return Err(format!("{name} exited ({status}) while waiting for {what}").into());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{what} did not answer at {url}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn var(&self, name: &str) -> Result<&str, Error> {
        self.env
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("{name} missing from functions.env").into())
    }

    // ----- iProov sandbox control surface ---------------------------------------------------
    pub async fn sandbox_latency(&self, ms: u64) -> Result<(), Error> {
        let r = self
            .http
            .put(format!("{}/sandbox/latency", self.sandbox_url))
            .json(&json!({ "ms": ms }))
            .send()
            .await?;
        check(r, "PUT /sandbox/latency").await.map(drop)
    }

    /// Plays the person in front of the camera: the scan of `token` passes.
    pub async fn pass_scan(&self, token: &str) -> Result<(), Error> {
        let r = self
            .http
            .post(format!("{}/sandbox/claims/{token}/scan", self.sandbox_url))
            .json(&json!({ "outcome": "passed" }))
            .send()
            .await?;
        check(r, "POST /sandbox/claims/*/scan").await.map(drop)
    }

    pub async fn sandbox_stats(&self) -> Result<Value, Error> {
        let r = self
            .http
            .get(format!("{}/sandbox/stats", self.sandbox_url))
            .send()
            .await?;
        check(r, "GET /sandbox/stats").await
    }

    // ----- AWS JSON protocols, straight to moto (not through the counting proxy) -----------
    async fn aws_json(
        &self,
        service: &str,
        target: &str,
        action: &str,
        body: Value,
    ) -> Result<Value, Error> {
        let r = self
            .http
            .post(&self.aws_endpoint)
            .header("x-amz-target", format!("{target}.{action}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=local/20260101/{REGION}/{service}/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .body(body.to_string())
            .send()
            .await?;
        check(r, action).await
    }

    // ----- SQS, as Lambda's event source mapping uses it ------------------------------------
    async fn sqs(&self, action: &str, body: Value) -> Result<Value, Error> {
        self.aws_json("sqs", "AmazonSQS", action, body).await
    }

    /// Creates a queue of the bench's own (not the template's) and answers its URL.
    pub async fn create_queue(&self, name: &str) -> Result<String, Error> {
        let answer = self.sqs("CreateQueue", json!({"QueueName": name})).await?;
        answer["QueueUrl"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("CreateQueue {name}: no QueueUrl in {answer}").into())
    }

    // ----- DynamoDB, as an operator's tool writes deployment data ----------------------------
    /// Writes `item` (DynamoDB JSON) into `table`, as `infra/ops/oidc_client.py` registers a
    /// client: a new item only.
    pub async fn put_new_item(&self, table: &str, item: Value) -> Result<(), Error> {
        self.aws_json(
            "dynamodb",
            "DynamoDB_20120810",
            "PutItem",
            json!({
                "TableName": table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }),
        )
        .await
        .map(drop)
    }

    /// Receives up to `max` messages (all attributes), keeping them invisible for 15 minutes.
    pub async fn receive(&self, queue_url: &str, max: usize) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        let mut empty = 0;
        while out.len() < max && empty < 3 {
            let answer = self
                .sqs(
                    "ReceiveMessage",
                    json!({
                        "QueueUrl": queue_url,
                        "MaxNumberOfMessages": (max - out.len()).min(10),
                        "VisibilityTimeout": 900,
                        "WaitTimeSeconds": 0,
                        "AttributeNames": ["All"],
                        "MessageSystemAttributeNames": ["All"],
                        "MessageAttributeNames": ["All"],
                    }),
                )
                .await?;
            let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                empty += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            out.extend(messages);
        }
        Ok(out)
    }

    /// Deletes handled messages, as the event source mapping does after a successful batch.
    pub async fn delete(&self, queue_url: &str, receipt_handles: &[String]) -> Result<(), Error> {
        for chunk in receipt_handles.chunks(10) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| json!({"Id": i.to_string(), "ReceiptHandle": h}))
                .collect();
            self.sqs(
                "DeleteMessageBatch",
                json!({"QueueUrl": queue_url, "Entries": entries}),
            )
            .await?;
        }
        Ok(())
    }

    pub fn stop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn check(r: reqwest::Response, what: &str) -> Result<Value, Error> {
    let status = r.status();
    let text = r.text().await?;
    if !status.is_success() {
        return Err(format!(
            "{what}: {status}: {}",
            text.chars().take(300).collect::<String>()
        )
        .into());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn spawn(command: &mut Command, log: &PathBuf) -> Result<Child, Error> {
    let out = File::create(log)?;
    let child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    Ok(child)
}

/// `KEY=VALUE` lines as the provisioner writes them (values optionally double-quoted, with
/// `\"` and `\n` escapes).
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_env(&text))
}

fn parse_env(text: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => inner.replace("\\n", "\n").replace("\\\"", "\""),
            None => value.to_owned(),
        };
        env.insert(key.trim().to_owned(), value);
    }
    env
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_file_values_are_unquoted() {
        // given an env file with a comment, a bare value, an empty quoted one and escaped quotes
        let file = "# x\nA=1\nB=\"\"\nC=\"a \\\"b\\\"\"\n";

        // when it is parsed
        let env = super::parse_env(file);

        // then the quotes and the escapes are gone
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "");
        assert_eq!(env["C"], "a \"b\"");
    }
}
