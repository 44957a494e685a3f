//! What a handle tells its caller after the fact: the cookie events a web layer turns into
//! `Set-Cookie`, and the report of a save.

/// What happened to the session that the cookie must reflect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CookieEvents {
    /// A new id was issued (created or rotated): the cookie must be set.
    pub id_changed: bool,
    /// The expiry moved (a save or a touch): a cookie with `Max-Age` must be refreshed.
    pub expiry_moved: bool,
    /// The session's "remember me" choice changed: the cookie must be set again, with or
    /// without `Max-Age`.
    pub remember_changed: bool,
    /// This handle ended the session (a logout, a revocation of itself, or its own limits
    /// ran out): the cookie the client sent must be expired.
    ///
    /// Never set merely because the presented id was unknown, or because another request
    /// ended or rotated the session meanwhile: the browser may hold a newer cookie by then
    /// (a login in another tab), and expiring "the" cookie would expire that one.
    pub ended: bool,
}

/// What a [`crate::Session::save`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveReport {
    /// Which store write, if any, was made.
    pub write: Write,
    /// Compare-and-swap attempts (1 when nothing conflicted).
    pub attempts: u32,
    /// Keys this save set or removed (with `insert` or `remove`, which are
    /// last-writer-wins) that another request had changed since this one loaded them: the
    /// other request's value was replaced. Keys changed with `update` are merged, never
    /// listed here.
    pub overwritten: Vec<String>,
}

/// The store write a save made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Write {
    /// Nothing needed writing.
    #[default]
    None,
    /// A new record was created.
    Created,
    /// The record was replaced (compare-and-swap).
    Saved,
    /// Only the expiry moved.
    Touched,
    /// The session moved to a new id.
    Rotated,
}
