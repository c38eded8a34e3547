<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:msxsl="urn:schemas-microsoft-com:xslt" xmlns:f="urn:fmt">
<msxsl:script language="C#" implements-prefix="f"><![CDATA[ public string money(double d) { return d.ToString("N2"); } ]]></msxsl:script>
<xsl:template match="/"><xsl:value-of select="f:money(number(/o/total))"/></xsl:template>
</xsl:stylesheet>
