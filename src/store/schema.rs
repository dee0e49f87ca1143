//! The tables, portable over both backends.

diesel::table! {
    agencies (code) {
        code -> Text,
        kind -> Text,
        name -> Text,
        parent_code -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    instances (id) {
        id -> Text,
        workflow_id -> Text,
        workflow_version -> Integer,
        state -> Text,
        version -> BigInt,
        parties -> Text,
        data -> Text,
        case_id -> Nullable<Text>,
        reference_date -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_hash -> Text,
        pending -> Text,
        started_by_instance -> Nullable<Text>,
        started_by_seq -> Nullable<BigInt>,
        closed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    instance_agencies (agency_code, instance_id) {
        agency_code -> Text,
        instance_id -> Text,
        open -> Bool,
    }
}

diesel::table! {
    events (instance_id, seq) {
        instance_id -> Text,
        seq -> BigInt,
        occurred_at -> BigInt,
        actor_sub -> Text,
        actor_name -> Text,
        actor_agency -> Text,
        actor_role -> Text,
        transition -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        data -> Text,
        comment -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    deadlines (id) {
        id -> Text,
        instance_id -> Text,
        workflow_id -> Text,
        name -> Text,
        title -> Text,
        responsible_agency -> Text,
        responsible_roles -> Text,
        escalate_agency -> Nullable<Text>,
        escalate_roles -> Text,
        legal_basis -> Text,
        operational -> Bool,
        unit -> Text,
        duration -> Integer,
        starts_at -> BigInt,
        due_at -> BigInt,
        due_date -> Text,
        calendar_complete -> Bool,
        status -> Text,
        opened_seq -> BigInt,
        opened_at -> BigInt,
        closed_seq -> Nullable<BigInt>,
        closed_at -> Nullable<BigInt>,
        suspended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    reminders (id) {
        id -> Text,
        deadline_id -> Text,
        kind -> Text,
        working_days_before -> Nullable<Integer>,
        fire_at -> BigInt,
        status -> Text,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        agency_code -> Text,
        roles -> Text,
        kind -> Text,
        instance_id -> Nullable<Text>,
        deadline_id -> Nullable<Text>,
        reminder_id -> Nullable<Text>,
        subject -> Text,
        payload -> Text,
        created_at -> BigInt,
        read_at -> Nullable<BigInt>,
        read_by -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        agency_code -> Text,
        url -> Text,
        secret -> Text,
        active -> Bool,
        created_at -> BigInt,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        notification_id -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
        created_at -> BigInt,
        redelivered_at -> Nullable<BigInt>,
        redelivered_by -> Nullable<Text>,
    }
}

diesel::table! {
    calendar_feeds (id) {
        id -> Text,
        secret_hash -> Text,
        sub -> Text,
        name -> Text,
        agency_code -> Text,
        roles -> Text,
        feed_agency -> Nullable<Text>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    calendar_years (year) {
        year -> Integer,
        data -> Text,
        updated_at -> BigInt,
        updated_by -> Text,
    }
}

diesel::table! {
    idempotency_keys (subject, key) {
        subject -> Text,
        key -> Text,
        fingerprint -> Text,
        status -> Integer,
        body -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        agency_code -> Text,
        number -> Text,
        judgment_ref -> Text,
        court_code -> Nullable<Text>,
        court_name -> Text,
        category -> Text,
        obligor -> Text,
        obligee -> Text,
        amount_due -> Text,
        collected -> Text,
        received_on -> Text,
        classification -> Text,
        status -> Text,
        closed_on -> Nullable<Text>,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_hash -> Text,
    }
}

diesel::table! {
    case_events (case_id, seq) {
        case_id -> Text,
        seq -> BigInt,
        occurred_at -> BigInt,
        actor_sub -> Text,
        actor_name -> Text,
        actor_agency -> Text,
        actor_role -> Text,
        kind -> Text,
        data -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        case_id -> Text,
        agency_code -> Text,
        case_seq -> BigInt,
        amount -> Text,
        paid_on -> Text,
        method -> Text,
        reverses -> Nullable<Text>,
        instance_id -> Nullable<Text>,
        instance_seq -> Nullable<BigInt>,
        note -> Nullable<Text>,
        recorded_at -> BigInt,
        recorded_by -> Text,
    }
}

diesel::table! {
    targets (agency_code, year) {
        agency_code -> Text,
        year -> Integer,
        cases_rate -> Text,
        money_rate -> Text,
        set_by -> Text,
        set_at -> BigInt,
    }
}

diesel::table! {
    case_stats (period_kind, period, agency_code, classification) {
        agency_code -> Text,
        classification -> Text,
        period_kind -> Text,
        period -> Integer,
        received_cases -> BigInt,
        received_due -> Text,
        closed_cases -> BigInt,
        completed_cases -> BigInt,
        terminated_cases -> BigInt,
        entrusted_cases -> BigInt,
        closed_remaining -> Text,
        collected -> Text,
    }
}

diesel::table! {
    personal_data_reads (id) {
        id -> Text,
        case_id -> Text,
        read_at -> BigInt,
        reader_sub -> Text,
        reader_name -> Text,
        reader_agency -> Text,
        reader_roles -> Text,
        route -> Text,
    }
}

diesel::joinable!(instance_agencies -> instances (instance_id));
diesel::joinable!(events -> instances (instance_id));
diesel::joinable!(deadlines -> instances (instance_id));
diesel::joinable!(reminders -> deadlines (deadline_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(payments -> cases (case_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(sessions -> users (username));

diesel::allow_tables_to_appear_in_same_query!(
    cases,
    case_events,
    payments,
    targets,
    case_stats,
    agencies,
    instances,
    instance_agencies,
    events,
    deadlines,
    reminders,
    notifications,
    webhooks,
    webhook_deliveries,
    calendar_feeds,
    calendar_years,
    account_requests,
    idempotency_keys,
    users,
    sessions,
    documents,
    search_terms,
);

diesel::table! {
    users (username) {
        username -> Text,
        name -> Text,
        agency_code -> Text,
        roles -> Text,
        password_hash -> Text,
        disabled -> Bool,
        failed_attempts -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        must_change_password -> Bool,
    }
}

diesel::table! {
    account_requests (id) {
        id -> Text,
        action -> Text,
        username -> Text,
        payload -> Text,
        requested_by -> Text,
        requested_at -> BigInt,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    user_events (id) {
        id -> Text,
        username -> Text,
        action -> Text,
        done_by -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        username -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Work a migration leaves to the service, which knows the definitions.
    pending_tasks (name) {
        name -> Text,
    }
}

diesel::table! {
    /// Documents uploaded to be handed over with a step.
    documents (id) {
        id -> Text,
        sha256 -> Text,
        size -> BigInt,
        media_type -> Text,
        name -> Text,
        agency_code -> Text,
        uploaded_by -> Text,
        uploaded_at -> BigInt,
        instance_id -> Nullable<Text>,
        seq -> Nullable<BigInt>,
        field -> Nullable<Text>,
    }
}

diesel::joinable!(documents -> instances (instance_id));

diesel::table! {
    /// What search finds an instance or a case by (its full-text index is the store's own).
    search_terms (id) {
        id -> BigInt,
        kind -> Text,
        target_id -> Text,
        numbers -> Text,
        names -> Text,
        scope -> Text,
    }
}

diesel::table! {
    /// A move of the running instances of one version of a workflow to another.
    instance_migrations (id) {
        id -> Text,
        workflow_id -> Text,
        from_version -> Integer,
        to_version -> Integer,
        states -> Text,
        actor_sub -> Text,
        actor_name -> Text,
        actor_agency -> Text,
        started_at -> BigInt,
        updated_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        last_instance -> Nullable<Text>,
        moved -> BigInt,
        refused -> BigInt,
    }
}

diesel::table! {
    /// An enforcement report as published for a reporting year.
    published_reports (year, scope) {
        year -> Integer,
        scope -> Text,
        report -> Text,
        published_by_sub -> Text,
        published_by_name -> Text,
        published_by_agency -> Text,
        published_at -> BigInt,
    }
}
