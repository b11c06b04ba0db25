<?xml version="1.0" encoding="UTF-8"?>
<!-- tower-iis: renders a failed request trace (frNNNNNN.xml) as a report. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:ev="http://schemas.microsoft.com/win/2004/08/events/event"
    xmlns:freb="http://schemas.microsoft.com/win/2006/06/iis/freb"
    xmlns:tower="urn:tower-iis:freb"
    exclude-result-prefixes="ev freb tower">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:template match="/failedRequest">
    <html lang="en">
      <head>
        <meta charset="UTF-8"/>
        <title>Request trace: <xsl:value-of select="@statusCode"/> - <xsl:value-of select="@url"/></title>
        <style>
          body { font-family: "Segoe UI", Tahoma, Verdana, sans-serif; font-size: 13px; margin: 0; color: #222; background: #fff; }
          header { background: #5f2a8c; color: #fff; padding: 12px 20px; }
          header h1 { margin: 0; font-size: 20px; font-weight: normal; }
          header p { margin: 4px 0 0; font-size: 13px; opacity: .9; word-break: break-all; }
          main { padding: 12px 20px 30px; }
          h2 { font-size: 15px; color: #5f2a8c; border-bottom: 1px solid #ccc; padding-bottom: 3px; margin: 22px 0 8px; }
          table { border-collapse: collapse; }
          th, td { text-align: left; vertical-align: top; padding: 3px 8px; }
          table.facts th { color: #555; font-weight: normal; width: 170px; }
          table.events { width: 100%; table-layout: fixed; }
          col.no { width: 40px; } col.time { width: 95px; } col.level { width: 90px; }
          col.provider { width: 120px; } col.name { width: 300px; }
          table.events th { background: #eee; border-bottom: 1px solid #bbb; }
          table.events td { border-bottom: 1px solid #e4e4e4; word-break: break-word; }
          tr.warning td { background: #fff8e1; }
          tr.failing td { background: #fde0dc; }
          tr.failing td.name { font-weight: bold; color: #b3261e; }
          .failure { border: 2px solid #b3261e; background: #fdecea; padding: 8px 12px; margin: 10px 0; max-width: 900px; }
          .failure h3 { margin: 0 0 6px; font-size: 14px; color: #b3261e; }
          .status { font-size: 26px; font-weight: bold; color: #b3261e; }
          dl { margin: 0; display: grid; grid-template-columns: max-content auto; column-gap: 8px; }
          dt { color: #666; }
          dd { margin: 0; word-break: break-all; white-space: pre-wrap; font-family: Consolas, monospace; font-size: 12px; }
          .note { color: #666; }
        </style>
      </head>
      <body>
        <header>
          <h1>Failed request trace</h1>
          <p><xsl:value-of select="@verb"/>&#160;<xsl:value-of select="@url"/></p>
        </header>
        <main>
          <h2>Summary</h2>
          <table class="facts">
            <tr><th>Status</th><td><span class="status"><xsl:value-of select="@statusCode"/></span></td></tr>
            <tr><th>Traced because</th><td><xsl:value-of select="@failureReason"/></td></tr>
            <tr><th>Time taken</th><td><xsl:value-of select="@timeTaken"/> ms</td></tr>
            <tr><th>Events</th><td>
              <xsl:value-of select="count(ev:Event)"/>
              <xsl:if test="@tower:droppedEvents &gt; 0">
                <span class="note"> (<xsl:value-of select="@tower:droppedEvents"/> more were cut by the buffer's budget)</span>
              </xsl:if>
            </td></tr>
          </table>
          <xsl:for-each select="ev:Event[ev:RenderingInfo/ev:Opcode = 'MODULE_SET_RESPONSE_ERROR_STATUS'][1]">
            <div class="failure">
              <h3>Where the error status was set</h3>
              <table class="facts">
                <tr><th>ModuleName</th><td><xsl:value-of select="ev:EventData/ev:Data[@Name='ModuleName']"/></td></tr>
                <tr><th>Notification</th><td><xsl:call-template name="data-text"><xsl:with-param name="name" select="'Notification'"/></xsl:call-template></td></tr>
                <tr><th>HttpStatus</th><td><xsl:value-of select="ev:EventData/ev:Data[@Name='HttpStatus']"/>.<xsl:value-of select="ev:EventData/ev:Data[@Name='HttpSubStatus']"/>&#160;<xsl:value-of select="ev:EventData/ev:Data[@Name='HttpReason']"/></td></tr>
                <tr><th>ErrorCode</th><td><xsl:call-template name="data-text"><xsl:with-param name="name" select="'ErrorCode'"/></xsl:call-template></td></tr>
                <tr><th>Event</th><td><a href="#event-{count(preceding-sibling::ev:Event) + 1}">No. <xsl:value-of select="count(preceding-sibling::ev:Event) + 1"/> in the list below</a></td></tr>
              </table>
            </div>
          </xsl:for-each>

          <h2>Request details</h2>
          <table class="facts">
            <xsl:for-each select="@*">
              <tr><th><xsl:value-of select="local-name()"/></th><td><xsl:value-of select="."/></td></tr>
            </xsl:for-each>
          </table>

          <h2>Events</h2>
          <table class="events">
            <col class="no"/><col class="time"/><col class="level"/><col class="provider"/><col class="name"/><col class="data"/>
            <tr><th>No.</th><th>Time</th><th>Level</th><th>Provider</th><th>Event</th><th>Data</th></tr>
            <xsl:for-each select="ev:Event">
              <xsl:variable name="opcode" select="ev:RenderingInfo/ev:Opcode"/>
              <tr id="event-{position()}">
                <xsl:attribute name="class">
                  <xsl:choose>
                    <xsl:when test="$opcode = 'MODULE_SET_RESPONSE_ERROR_STATUS'">failing</xsl:when>
                    <xsl:when test="ev:System/ev:Level &lt;= 3">warning</xsl:when>
                    <xsl:otherwise>normal</xsl:otherwise>
                  </xsl:choose>
                </xsl:attribute>
                <td><xsl:value-of select="position()"/></td>
                <td><xsl:value-of select="substring(ev:System/ev:TimeCreated/@SystemTime, 12, 12)"/></td>
                <td><xsl:call-template name="level"><xsl:with-param name="n" select="ev:System/ev:Level"/></xsl:call-template></td>
                <td><xsl:value-of select="ev:System/ev:Provider/@Name"/></td>
                <td class="name"><xsl:value-of select="$opcode"/></td>
                <td>
                  <dl>
                    <xsl:for-each select="ev:EventData/ev:Data[@Name != 'ContextId']">
                      <dt><xsl:value-of select="@Name"/></dt>
                      <xsl:variable name="n" select="@Name"/>
                      <xsl:variable name="rendered" select="../../ev:RenderingInfo/freb:Description[@Data = $n]"/>
                      <dd>
                        <xsl:choose>
                          <xsl:when test="$rendered"><xsl:value-of select="$rendered"/></xsl:when>
                          <xsl:otherwise><xsl:value-of select="."/></xsl:otherwise>
                        </xsl:choose>
                      </dd>
                    </xsl:for-each>
                  </dl>
                </td>
              </tr>
            </xsl:for-each>
          </table>
        </main>
      </body>
    </html>
  </xsl:template>

  <!-- A data item of the current event, with its rendering when there is one. -->
  <xsl:template name="data-text">
    <xsl:param name="name"/>
    <xsl:variable name="rendered" select="ev:RenderingInfo/freb:Description[@Data = $name]"/>
    <xsl:choose>
      <xsl:when test="$rendered"><xsl:value-of select="$rendered"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="ev:EventData/ev:Data[@Name = $name]"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="level">
    <xsl:param name="n"/>
    <xsl:choose>
      <xsl:when test="$n = 1">Critical</xsl:when>
      <xsl:when test="$n = 2">Error</xsl:when>
      <xsl:when test="$n = 3">Warning</xsl:when>
      <xsl:when test="$n = 4">Information</xsl:when>
      <xsl:otherwise>Verbose</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
