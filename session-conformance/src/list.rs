//! The list of cases, written once: the suite's static list ([`crate::cases::ALL`]) and
//! the [`suite!`](crate::suite) macro's tests are both expanded from it.

/// Calls `$callback! { $prefix... "group", name, "promise"; ... }` with every case.
#[doc(hidden)]
#[macro_export]
macro_rules! __case_list {
    ($callback:ident! { $($prefix:tt)* }) => {
        $crate::$callback! { $($prefix)*
            record, round_trip, "a created record loads back equal";
            record, load_missing_is_none, "loading a key never written is None, not an error";
            record, fields_round_trip, "owner, user agent, timestamps, deadline and version survive storage";
            record, value_of_1_mib, "a 1 MiB value is stored whole";
            record, value_of_5_mib, "a 5 MiB value is stored whole (no 64 KiB BLOB cap)";
            record, binary_safe_values, "values keep every byte value, NULs included";
            record, unicode_keys, "data keys in any script round-trip";
            record, many_keys, "a record with 1000 keys round-trips";
            record, empty_data, "a record without data is still a session";
            record, keys_are_isolated, "a key loads its own record, never another key's";
            record, shared_load_agrees, "load_shared returns what load returns: live, touched, expired, missing";
            create, create_never_overwrites, "create on a live key is Collision and changes nothing";
            create, create_over_an_expired_record, "create on a key that only an expired record holds succeeds";
            expiry, expired_is_none_before_cleanup, "an expired record loads as None before any cleanup";
            expiry, expiry_boundary_is_exact, "a record is live 1 ms before expires_at and gone at it";
            expiry, save_with_past_expiry_deletes, "a save whose expiry has passed ends the session";
            expiry, save_expiring_now_deletes, "a save whose expiry is the present instant ends the session";
            expiry, touch_extends_expiry, "touch moves expiry so the record outlives its old deadline";
            expiry, touch_keeps_data_and_version, "touch changes neither data nor version";
            expiry, touch_missing_is_gone, "touch of a missing key is Gone and creates nothing";
            expiry, touch_never_revives_expired, "touch of an expired record is Gone and it stays dead";
            expiry, touch_never_revives_deleted, "touch after delete is Gone and it stays dead";
            expiry, touch_at_expiry_is_gone, "a touch at the instant of expiry is Gone and revives nothing";
            expiry, save_at_expiry_is_gone, "a save at the instant of expiry is Gone and revives nothing";
            save, save_bumps_version, "a save with the current version replaces data and version";
            save, save_stale_version_conflicts, "a save with an old version is Conflict and changes nothing";
            save, save_future_version_conflicts, "a save with a version never stored is Conflict";
            save, save_missing_is_gone, "save of a missing key is Gone: save never creates";
            save, save_never_resurrects_deleted, "save after delete is Gone and the session stays deleted";
            save, save_never_resurrects_expired, "save after expiry is Gone and the session stays dead";
            save, shared_save_is_compare_and_swap, "save_shared keeps save's contract: Conflict, Gone, replace";
            delete, delete_removes, "a deleted record loads as None";
            delete, delete_is_idempotent, "deleting a missing key, or twice, succeeds";
            delete, delete_touches_only_its_key, "delete leaves other records alone";
            rotate, rotate_moves_data, "after rotation the old key loads nothing, the new one everything";
            rotate, rotate_stale_conflicts, "rotation with an old version is Conflict and moves nothing";
            rotate, rotate_never_resurrects_deleted, "rotation of a deleted session is Gone; neither key loads";
            rotate, rotate_expired_is_gone, "rotation of an expired session is Gone";
            rotate, rotate_collision_keeps_old, "rotation onto a taken key is Collision; both records stay";
            rotate, rotate_onto_an_expired_record, "rotation onto a key that only an expired record holds succeeds";
            rotate, rotate_index_follows, "after rotation the owner index lists the new key only";
            rotate, rotate_can_set_owner, "rotation that sets an owner (login) indexes the new key";
            owner, owner_lists_live_sessions, "an owner's listing holds exactly their live sessions";
            owner, owner_list_drops_expired, "expired sessions are not listed";
            owner, owner_list_drops_deleted, "deleted sessions are not listed";
            owner, owners_are_isolated, "one owner's listing and revocation never touch another's";
            owner, owner_listing_has_metadata, "listings carry created-at, last-seen, expiry and user agent";
            owner, delete_owner_removes_all, "log out everywhere deletes every session of the owner";
            owner, delete_owner_keeps_one, "log out other devices deletes all but the kept session";
            owner, save_owner_change_moves_index, "a save that changes the owner moves the index entry";
            cleanup, cleanup_removes_only_expired, "cleanup removes expired records and keeps live ones";
            cleanup, cleanups_run_concurrently, "two cleanups at once both succeed and keep live records";
            cleanup, cleanup_at_the_expiry_instant, "a sweep at the instant records expire removes them then";
            bad_bytes, truncated_bytes_are_an_error, "a truncated record is a BadData error, not a panic";
            bad_bytes, unknown_version_is_an_error, "an unknown format version is a BadData error";
            bad_bytes, foreign_bytes_are_an_error, "a foreign writer's bytes (JSON) are a BadData error";
            bad_bytes, empty_bytes_are_an_error, "zero bytes are a BadData error";
            bad_bytes, raw_body_decodes_the_same, "the encoder's body with an envelope, written raw, loads as exactly that record";
            bad_bytes, bad_record_spares_others, "one unreadable record does not affect others";
            handle, handle_round_trip, "a handle creates a session another handle reads";
            handle, handle_64_tasks_distinct_keys, "64 concurrent requests adding distinct keys lose none";
            handle, handle_64_tasks_same_key, "64 concurrent writers of one key leave one value, 63 overwrites reported";
            handle, handle_64_updates_of_one_key, "64 concurrent read-modify-writes of one key all take effect (counter 64, list of 64)";
            handle, handle_update_replays_on_fresh_value, "an update that lost the compare-and-swap runs again on the value the winner stored";
            handle, handle_logout_wins_over_late_save, "a request that loaded before logout cannot revive the session";
            handle, handle_login_rotates_id, "login issues a new id, keeps data, kills the old id, indexes the owner";
            handle, handle_touch_is_throttled, "an unchanged fresh session writes nothing; a stale one only touches";
            handle, handle_idle_timeout, "a session unused for the idle timeout is gone";
            handle, handle_absolute_timeout, "an active session still ends at the absolute deadline";
            handle, handle_revoke_other_sessions, "revoking other devices ends them and spares this one and other users";
            handle, handle_login_restarts_lifetime, "login restarts the absolute lifetime (re-authentication, R39)";
            handle, handle_login_as_other_user_starts_empty, "login as a different owner starts empty; anonymous to owner keeps the data";
            handle, handle_unknown_id_keeps_cookie, "an unknown id, or a session ended elsewhere, never asks to expire the cookie";
            lock, lock_excludes_16_holders, "16 concurrent lock holders never overlap, and every holder's write lands";
            lock, lock_dead_holder_frees_after_lease, "a holder that never releases blocks others until its lease ends, not after";
            lock, lock_expired_holder_cannot_write, "a holder past its lease cannot write, whether or not another took the lock";
            lock, lock_fence_grows, "each acquisition's fencing token is larger than the last";
            lock, lock_others_write_meanwhile, "writes that do not take the lock go on while it is held, and neither free it nor get lost";
            lock, lock_holder_of_deleted_session_is_gone, "a holder whose session was deleted gets Gone, and its write brings nothing back";
            lock, lock_rotation_starts_unlocked, "a rotation while the lock is held gives a new id that starts unlocked, and the holder's write stores nothing";
            version, version_follows_each_operation, "create, save, save_shared and rotate store the record's version; touch keeps it";
            version, every_wrong_version_conflicts, "a save or save_shared with any version but the current one is Conflict and changes nothing";
            version, every_wrong_version_conflicts_on_rotate, "a rotation with any version but the current one is Conflict and moves nothing";
            version, conflict_then_current_version_succeeds, "a stale save stays Conflict on retry; with the winner's version it lands";
            dead_keys, rotated_key_stays_dead, "no write to a key rotated away brings it back, whatever version it carries";
            dead_keys, deleted_key_stays_dead, "no write to a deleted key brings it back, whatever version it carries";
            dead_keys, logged_out_keys_stay_dead, "no write to a key ended by log out everywhere brings it back; the kept one stays";
            dead_keys, expired_key_stays_dead, "no write to an expired key brings it back, before or after a sweep";
            owner_change, rotate_to_another_owner, "a rotation to another owner moves listing and log out everywhere to the new owner";
            owner_change, rotate_drops_owner, "a rotation that drops the owner leaves the session out of the old owner's listing and logout";
            owner_change, save_drops_owner, "a save that drops the owner leaves the session out of the old owner's listing and logout";
            owner_change, save_adds_owner, "a save from anonymous to an owner is listed and ended by log out everywhere";
            owner_change, owner_changes_back_and_forth, "an owner changed four times and rotated is listed once, under the last owner only";
            owner_change, owner_change_spares_other_sessions, "moving one session between owners leaves both owners' other sessions where they were";
            owner_change, delete_owner_counts_only_live, "log out everywhere counts the live sessions it ended, not expired ones";
            owner_change, owner_expiry_boundary_is_exact, "a session leaves listing and log out everywhere at the instant it expires";
            race, race_rotate_vs_load, "a reader never sees a rotation half done: never both keys, never neither";
            race, race_save_vs_delete, "a save racing a delete never brings the session back";
            race, race_touch_vs_delete, "a touch racing a delete never brings the session back";
            race, race_rotate_vs_save, "a save and a rotation from one version: exactly one wins, and only its result shows";
            race, race_rotate_vs_delete, "a rotation racing a delete: the old key is dead, the new one live exactly if the rotation won";
            race, race_create_vs_create, "two creates of one key: exactly one wins and its record stays";
            race, race_writes_vs_sweep, "records saved, touched or created during a sweep survive it";
            race, race_login_vs_logout_everywhere, "a login racing log out everywhere leaves the listing equal to the live sessions";
            race, race_owner_change_vs_owner_ops, "a save moving a session to another owner, racing the old owner's listing and logout: neither sees the moved session";
            live, live_watch_wakes_on_delete, "a live connection is told when its key is deleted: the store's watch wakes, or its poll ends the wait";
            live, live_watch_wakes_on_owner_logout, "a live connection is told when its owner logs out everywhere (watch or poll)";
            live, live_watch_wakes_on_rotate, "a live connection is told when its key is rotated away (watch or poll)";
            live, live_ended_on_logout_elsewhere, "a live handle learns of a logout in another request, and then cannot write";
            live, live_ended_on_logout_everywhere, "a live handle learns of log out everywhere by its owner";
            live, live_ended_on_expiry, "a live handle learns that its session ran out";
            live, live_stays_while_live, "a live handle keeps waiting while its session lives, saved and touched by others";
            live, live_without_session, "a live handle without a session, or with an unknown id, returns at once and creates nothing";
            isolation, sibling_keys_are_separate, "the same key in two stores on one backend holds two sessions that never touch";
            isolation, sibling_rotation_and_locks_are_separate, "rotations and locks in one store neither collide with nor hold the other's keys";
            isolation, sibling_owners_are_separate, "owner listing and log out everywhere see only their own store's sessions";
            isolation, sibling_sweeps_are_separate, "a sweep of one store neither removes nor counts the other's records";
        }
    };
}

/// Expands the list into [`crate::cases::ALL`].
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_static {
    ($( $group:ident, $name:ident, $promise:literal; )*) => {
        /// Every case, in the order reports list them.
        pub static ALL: &[$crate::Case] = &[
            $( $crate::Case::new(stringify!($group), stringify!($name), $promise,
                      |c| Box::pin($name(c))), )*
        ];
    };
}

/// Expands the list into one test per case, for [`suite!`](crate::suite). `$skips` is the
/// macro's `[group = "reason", ...]`, handed whole to each case.
#[doc(hidden)]
#[macro_export]
macro_rules! __suite_cases {
    ($factory:expr; $skips:tt; $( $group:ident, $case:ident, $promise:literal; )*) => {
        $( $crate::__suite_case! { $skips $skips $group, $case, $promise, $factory, $ } )*
    };
}

/// One test: `#[ignore]`d with the reason when `$group` is among the skips. Whether it is
/// is found by walking the list, comparing each name with `$group` through a throwaway
/// `macro_rules!` whose one literal arm is that name (`$d` is a `$` handed down so the
/// throwaway macro can have a catch-all arm of its own).
#[doc(hidden)]
#[macro_export]
macro_rules! __suite_case {
    ([] $all:tt $group:ident, $case:ident, $promise:literal, $factory:expr, $d:tt) => {
        #[doc = $promise]
        #[test]
        fn $case() {
            $crate::block_on($crate::run_named(
                stringify!($case),
                $crate::__skip_names!($all),
                $factory,
            ));
        }
    };
    ([$first:ident = $why:literal $(, $rg:ident = $rw:literal)*] $all:tt
     $group:ident, $case:ident, $promise:literal, $factory:expr, $d:tt) => {
        macro_rules! __same_group {
            ($first) => {
                #[doc = $promise]
                #[test]
                #[ignore = $why]
                fn $case() {
                    $crate::block_on($crate::run_named(
                        stringify!($case),
                        $crate::__skip_names!($all),
                        $factory,
                    ));
                }
            };
            ($d other:ident) => {
                $crate::__suite_case! {
                    [$($rg = $rw),*] $all $group, $case, $promise, $factory, $d
                }
            };
        }
        __same_group!($group);
    };
}

/// `[a = "why", b = "why"]` to `&["a", "b"]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __skip_names {
    ([$($g:ident = $why:literal),*]) => {
        &[$(stringify!($g)),*]
    };
}
