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
    }
}

diesel::table! {
    instance_agencies (agency_code, instance_id) {
        agency_code -> Text,
        instance_id -> Text,
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
    outbox (id) {
        id -> Text,
        instance_id -> Text,
        event_seq -> BigInt,
        kind -> Text,
        payload -> Text,
        created_at -> BigInt,
        processed_at -> Nullable<BigInt>,
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

diesel::joinable!(instance_agencies -> instances (instance_id));
diesel::joinable!(events -> instances (instance_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    instances,
    instance_agencies,
    events,
    outbox,
    idempotency_keys,
);
