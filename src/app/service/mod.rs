//! The application layer every inbound webhook (and the periodic sweep) goes through: it holds
//! the order of the work — authenticate, parse, deliver once, personalise, settle, clean up —
//! so that HTTP handlers only convert between HTTP and these types.

mod background;
mod initiation;
mod metrics;
mod post_call;
mod pre_call;
mod sweep;

pub use background::BackgroundWork;
pub use initiation::{InitiationRefusal, InitiationService};
pub use metrics::{LIVE_CLONES_TIMEOUT, MetricsService, ScrapeError};
pub use post_call::{PostCallError, PostCallOutcome, PostCallService};
pub use pre_call::{
    Handled, PreCallError, PreCallFailure, PreCallService, SignedBody, VerifiedEvent,
};
pub use sweep::{FIRST_SWEEP_AFTER, SweepSchedule, sweep_periodically};
