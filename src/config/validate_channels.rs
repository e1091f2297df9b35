//! Checking `channels:`: ids, providers, URLs, keys, tags, prices (see `validate` for the
//! rules). A channel that cannot serve (no key, unset variable, `enabled: false`) is kept,
//! disabled, with its reason; only a channel that is wrong is an error.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::interpolate::UnsetVariable;
use super::problems::{check_url, is_valid_id, Problems};
use super::raw::{AuthStyle, RawChannel, RawPrice};
use super::scaling::Findings;
use super::{Channel, PreparedRequest, Price, Provider, Secret};

pub(super) fn validate_channels(
    raw: &[RawChannel],
    providers: &BTreeMap<String, Arc<Provider>>,
    unset: &[UnsetVariable],
    problems: &mut Problems<'_>,
    warnings: &mut Vec<String>,
) -> Vec<Arc<Channel>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut channels = Vec::with_capacity(raw.len());
    for (index, channel) in raw.iter().enumerate() {
        let path = format!("channels[{index}]");
        if !is_valid_id(&channel.id) {
            problems.push(
                format!("{path}.id"),
                format!(
                    "{:?} is not a valid channel id: use 1 to 64 of A-Z a-z 0-9 _ . -",
                    channel.id
                ),
            );
        }
        if let Some(first) = seen.insert(&channel.id, index) {
            problems.push(
                format!("{path}.id"),
                format!(
                    "duplicate channel id {:?} (first used by channels[{first}])",
                    channel.id
                ),
            );
        }
        let Some(provider) = providers.get(&channel.provider) else {
            let known: Vec<&str> = providers.keys().map(String::as_str).collect();
            problems.push(
                format!("{path}.provider"),
                format!(
                    "unknown provider {:?}; providers.yaml defines: {}",
                    channel.provider,
                    known.join(", ")
                ),
            );
            continue;
        };
        if let Some(built) = build_channel(channel, &path, provider, unset, problems) {
            if let Some(reason) = &built.disabled_reason {
                if channel.enabled {
                    warnings.push(format!("channel {} disabled: {reason}", built.id));
                }
            }
            if built.currency != "USD" {
                warnings.push(format!(
                    "{path}.currency: {} — records carry the cost in {}, but statistics, budgets \
                     and the dashboard count USD only: this channel's costs are left out of them \
                     (other_currency_requests counts its calls); give its prices in USD to have \
                     them counted",
                    built.currency, built.currency
                ));
            }
            channels.push(Arc::new(built));
        }
    }
    channels
}

fn build_channel(
    raw: &RawChannel,
    path: &str,
    provider: &Arc<Provider>,
    unset: &[UnsetVariable],
    problems: &mut Problems<'_>,
) -> Option<Channel> {
    let base_url = match &raw.base_url {
        Some(url) => check_url(problems, &format!("{path}.base_url"), url),
        None => provider.base_url.clone(),
    };
    let prefix = format!("{path}.");
    let missing: Vec<&str> = unset
        .iter()
        .filter(|u| u.key_path.starts_with(&prefix))
        .map(|u| u.variable.as_str())
        .collect();
    let api_key = raw
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(Secret::new);
    let disabled_reason = if !raw.enabled {
        Some("enabled: false in the config".to_string())
    } else if !missing.is_empty() {
        Some(format!(
            "environment variable {} is not set",
            missing.join(", ")
        ))
    } else if api_key.is_none() && provider.auth != AuthStyle::None {
        Some(format!(
            "no api_key, and provider {} needs one",
            provider.key
        ))
    } else {
        None
    };

    let tags = validate_tags(problems, path, &raw.tags);
    let pricing = raw
        .pricing
        .map(|p| validate_price(problems, &format!("{path}.pricing"), p));
    let model_pricing = raw
        .model_pricing
        .iter()
        .map(|(model, p)| {
            let price = validate_price(problems, &format!("{path}.model_pricing.{model}"), *p);
            (model.clone(), price)
        })
        .collect();
    let timeout =
        problems.positive_seconds(&format!("{path}.timeout_s"), raw.timeout_s.unwrap_or(60.0));
    if let Some(budget) = raw.daily_budget {
        if !(budget.is_finite() && budget > 0.0) {
            problems.push(
                format!("{path}.daily_budget"),
                format!("must be a positive amount, got {budget}"),
            );
        }
    }
    for (standard, own) in &raw.model_aliases {
        if standard.trim().is_empty() || own.trim().is_empty() {
            problems.push(
                format!("{path}.model_aliases"),
                "alias names and targets must not be empty",
            );
        }
    }
    let prepared = PreparedRequest::new(
        &base_url,
        api_key.as_ref(),
        provider.auth,
        &provider.headers,
    );
    let mut findings = Findings::default();
    let (own_limits, own_model_limits) =
        super::scaling::validate_limits(&mut findings, path, raw.limits, &raw.model_limits);
    super::scaling::report(problems, findings);
    let limits = provider.limits.overridden_by(own_limits);
    let mut model_limits = provider.model_limits.clone();
    model_limits.extend(own_model_limits);
    Some(Channel {
        limits,
        model_limits,
        prepared,
        id: raw.id.clone(),
        name: raw.name.clone().unwrap_or_else(|| raw.id.clone()),
        provider: provider.clone(),
        base_url,
        api_key,
        enabled: disabled_reason.is_none(),
        disabled_reason,
        tags,
        model_name: raw
            .model_name
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from),
        configured_models: raw
            .configured_models
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect(),
        model_aliases: raw
            .model_aliases
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
        pricing,
        model_pricing,
        timeout,
        daily_budget: raw.daily_budget,
        priority: raw.priority,
        currency: raw
            .currency
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or("USD")
            .to_ascii_uppercase(),
    })
}

fn validate_tags(problems: &mut Problems<'_>, path: &str, raw: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for (i, tag) in raw.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.contains([',', '!', ':', ' ', '<', '>', '=']) {
            problems.push(
                format!("{path}.tags[{i}]"),
                format!(
                    "{tag:?} is not a usable tag: no empty tags, and none of , ! : < > = or spaces"
                ),
            );
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn validate_price(problems: &mut Problems<'_>, path: &str, raw: RawPrice) -> Price {
    Price {
        input: problems.non_negative(&format!("{path}.input"), raw.input),
        output: problems.non_negative(&format!("{path}.output"), raw.output),
        cached_input: raw
            .cached_input
            .map(|c| problems.non_negative(&format!("{path}.cached_input"), c)),
        cache_write: raw
            .cache_write
            .map(|c| problems.non_negative(&format!("{path}.cache_write"), c)),
    }
}
