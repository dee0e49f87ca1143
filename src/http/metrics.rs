//! Prometheus metrics, one registry per server (not a process-wide one, so that servers in
//! one process count apart). Labels are bounded: a route pattern, never a raw path; a
//! workflow and transition as definitions name them. Nothing here names a person or a case.

use std::time::Duration;

use actix_web::http::StatusCode;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::jobs::Report;
use crate::store::DbFigures;

/// Every metric the service keeps, and who may read them.
pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    pub in_flight: IntGauge,
    transitions: IntCounterVec,
    reminders: IntCounterVec,
    webhooks: IntCounterVec,
    pass_failures: IntCounter,
    deadlines_open: IntGauge,
    deadlines_overdue: IntGauge,
    reminder_lag: IntGauge,
    pool_connections: IntGauge,
    pool_in_use: IntGauge,
    pool_waiting: IntGauge,
    writer_queue: IntGauge,
    writer_groups: IntGauge,
    writer_writes: IntGauge,
    definitions: prometheus::IntGaugeVec,
    /// A bearer token a scraper must show; anyone may read the metrics when absent.
    pub token: Option<String>,
}

/// What the database says of deadlines when the metrics are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadlineCounts {
    pub open: i64,
    pub overdue: i64,
    /// Seconds since the oldest reminder due and not yet sent was due; 0 when none is.
    pub reminder_lag_seconds: i64,
}

fn registered<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> Result<M, String> {
    let metric = metric.map_err(|e| format!("cannot define a metric: {e}"))?;
    registry.register(Box::new(metric.clone())).map_err(|e| format!("cannot register a metric: {e}"))?;
    Ok(metric)
}

impl Metrics {
    pub fn new(token: Option<String>) -> Result<Self, String> {
        let registry = Registry::new();
        let r = &registry;
        let buckets = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let metrics = Self {
            requests: registered(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "lienganh_http_request_duration_seconds",
                        "Time to answer a request, by method, route pattern and status class",
                    )
                    .buckets(buckets),
                    &["method", "route", "status"],
                ),
            )?,
            in_flight: registered(
                r,
                IntGauge::new("lienganh_http_requests_in_flight", "Requests being answered now"),
            )?,
            transitions: registered(
                r,
                IntCounterVec::new(
                    Opts::new("lienganh_transitions_total", "Steps fired, by workflow and transition"),
                    &["workflow", "transition"],
                ),
            )?,
            reminders: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "lienganh_reminders_total",
                        "Reminders handled by this node's passes: sent, cancelled, taken_over, failed",
                    ),
                    &["outcome"],
                ),
            )?,
            webhooks: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "lienganh_webhook_deliveries_total",
                        "Webhook delivery attempts by this node: delivered, retry (failed, tried again later), failed (given up)",
                    ),
                    &["outcome"],
                ),
            )?,
            pass_failures: registered(
                r,
                IntCounter::new("lienganh_reminder_pass_failures_total", "Reminder passes that stopped on an error"),
            )?,
            deadlines_open: registered(
                r,
                IntGauge::new("lienganh_deadlines_open", "Deadlines running now (not suspended), in the database"),
            )?,
            deadlines_overdue: registered(
                r,
                IntGauge::new("lienganh_deadlines_overdue", "Running deadlines past due, in the database"),
            )?,
            reminder_lag: registered(
                r,
                IntGauge::new(
                    "lienganh_reminder_lag_seconds",
                    "Seconds since the oldest reminder due and not yet sent was due (0 when none is)",
                ),
            )?,
            pool_connections: registered(
                r,
                IntGauge::new("lienganh_db_pool_connections", "Database connections of this node's pool, open"),
            )?,
            pool_in_use: registered(
                r,
                IntGauge::new("lienganh_db_pool_in_use", "Database connections of this node's pool, in use"),
            )?,
            pool_waiting: registered(
                r,
                IntGauge::new("lienganh_db_pool_waiting", "Callers waiting for a database connection of this node"),
            )?,
            writer_queue: registered(
                r,
                IntGauge::new("lienganh_sqlite_writer_queue", "Writes queued for SQLite's writer, not yet in a group"),
            )?,
            writer_groups: registered(
                r,
                IntGauge::new(
                    "lienganh_sqlite_writer_groups_total",
                    "Transactions SQLite's writer ran, each a group of writes (a counter)",
                ),
            )?,
            definitions: registered(
                r,
                prometheus::IntGaugeVec::new(
                    Opts::new(
                        "lienganh_definitions_info",
                        "Always 1: the hashes of the workflow definitions and calendar this node loaded",
                    ),
                    &["workflows_hash", "calendar_hash"],
                ),
            )?,
            writer_writes: registered(
                r,
                IntGauge::new(
                    "lienganh_sqlite_writer_writes_total",
                    "Writes SQLite's writer carried in its groups (a counter; over the groups, the group size)",
                ),
            )?,
            registry,
            token,
        };
        // The process (CPU, memory, open files, start time) and the build.
        #[cfg(target_os = "linux")]
        metrics
            .registry
            .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
            .map_err(|e| format!("cannot register the process metrics: {e}"))?;
        let build = registered(
            &metrics.registry,
            prometheus::IntGaugeVec::new(
                Opts::new("lienganh_build_info", "Always 1: this binary's version"),
                &["version"],
            ),
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        // Every outcome shows from the start, at 0, so that an alert on a rise needs no data first.
        metrics.pass_done(&Report::default());
        Ok(metrics)
    }

    /// Labels the definitions this node loaded, so that nodes that loaded others stand out.
    pub fn loaded(&self, workflows_hash: &str, calendar_hash: &str) {
        self.definitions.with_label_values(&[workflows_hash, calendar_hash]).set(1);
    }

    /// Times one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: StatusCode, took: Duration) {
        let class = match status.as_u16() / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        self.requests.with_label_values(&[method, route, class]).observe(took.as_secs_f64());
    }

    /// Counts a step that was fired (not a replayed answer).
    pub fn transition_fired(&self, workflow: &str, transition: &str) {
        self.transitions.with_label_values(&[workflow, transition]).inc();
    }

    /// Adds what a reminder pass did.
    pub fn pass_done(&self, report: &Report) {
        let reminders = [
            ("sent", report.reminders_sent),
            ("cancelled", report.reminders_cancelled),
            ("taken_over", report.reminders_lost),
            ("failed", report.reminders_failed),
        ];
        for (outcome, n) in reminders {
            self.reminders.with_label_values(&[outcome]).inc_by(n as u64);
        }
        let webhooks = [
            ("delivered", report.webhooks_delivered),
            ("retry", report.webhooks_retried),
            ("failed", report.webhooks_failed),
        ];
        for (outcome, n) in webhooks {
            self.webhooks.with_label_values(&[outcome]).inc_by(n as u64);
        }
    }

    /// Counts a pass that stopped on an error.
    pub fn pass_failed(&self) {
        self.pass_failures.inc();
    }

    /// The text exposition format, with the deadline and connection gauges as they stand now.
    pub fn render(&self, deadlines: DeadlineCounts, db: DbFigures) -> Result<String, String> {
        self.deadlines_open.set(deadlines.open);
        self.deadlines_overdue.set(deadlines.overdue);
        self.reminder_lag.set(deadlines.reminder_lag_seconds);
        self.pool_connections.set(i64::from(db.connections));
        self.pool_in_use.set(i64::from(db.in_use));
        self.pool_waiting.set(db.waiting);
        let writer = db.writer.unwrap_or_default();
        self.writer_queue.set(writer.queued);
        self.writer_groups.set(i64::try_from(writer.groups).unwrap_or(i64::MAX));
        self.writer_writes.set(i64::try_from(writer.writes).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_exposition() {
        let m = Metrics::new(None).unwrap();
        m.transition_fired("court_transfer", "transfer");
        m.transition_fired("court_transfer", "transfer");
        m.observe_request("GET", "/healthz", StatusCode::OK, Duration::from_millis(3));
        m.pass_done(&Report { webhooks_retried: 2, ..Report::default() });
        let text = m
            .render(DeadlineCounts { open: 5, overdue: 2, reminder_lag_seconds: 0 }, DbFigures::default())
            .unwrap();
        assert!(text
            .contains("lienganh_transitions_total{transition=\"transfer\",workflow=\"court_transfer\"} 2"));
        assert!(text.contains("lienganh_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"2xx\"} 1"));
        assert!(text.contains("lienganh_webhook_deliveries_total{outcome=\"retry\"} 2"));
        assert!(text.contains("lienganh_reminders_total{outcome=\"failed\"} 0"));
        assert!(text.contains("lienganh_deadlines_open 5\n"));
        assert!(text.contains("lienganh_deadlines_overdue 2\n"));
    }
}
