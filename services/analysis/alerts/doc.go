// Package alerts is the analysis service's alert rules (docs/alerts.md):
// AlertService (rules per project, their firings, test notifications), the
// evaluator that checks every due rule each interval, and the worker that
// delivers notifications to webhooks and Slack with retries.
//
// Every replica runs both loops on the one database. A rule's evaluation
// claims its row with SELECT ... FOR UPDATE SKIP LOCKED where
// next_evaluation_at is due, and the same transaction writes the rule's new
// state, its next_evaluation_at and any firing with its deliveries: one
// evaluation, so one firing, per interval whatever the number of replicas,
// and nothing in memory a restart would lose. A delivery's attempt is
// leased the same way (its next_attempt_at moved past the HTTP timeout in
// the claiming transaction), POSTed outside any transaction, and recorded
// with its answer.
package alerts
